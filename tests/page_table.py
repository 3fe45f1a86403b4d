#!/usr/bin/env python3
"""Reads a page Chromium rendered (--dump-dom), for the tests' own checks.

usage: page_table.py FILE TABLE_ID TEXT_ID
Prints one JSON object: "rows", each row of <table id=TABLE_ID> that has data-* attributes
(its data-* attributes, and per cell its text and class), and "text", the text of the element
with id TEXT_ID.
"""
import json
import sys
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self, table_id, text_id):
        super().__init__()
        self.table_id, self.text_id = table_id, text_id
        self.rows, self.row, self.cell, self.text = [], None, None, ""
        self.in_table = self.text_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.text_depth:
            self.text_depth += 1
        elif a.get("id") == self.text_id:
            self.text_depth = 1
        if tag == "table" and a.get("id") == self.table_id:
            self.in_table = 1
        elif self.in_table and tag == "tr":
            data = {k[5:]: v for k, v in a.items() if k.startswith("data-")}
            self.row = {"data": data, "cells": [], "classes": []} if data else None
        elif self.row is not None and tag == "td":
            self.cell = ""
            self.row["classes"].append(a.get("class") or "")

    def handle_endtag(self, tag):
        if self.text_depth:
            self.text_depth -= 1
        if tag == "td" and self.cell is not None:
            self.row["cells"].append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "table":
            self.in_table = 0

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.text_depth:
            self.text += data


def main():
    page = Page(sys.argv[2], sys.argv[3])
    page.feed(open(sys.argv[1]).read())
    print(json.dumps({"rows": page.rows, "text": page.text}))


if __name__ == "__main__":
    main()
