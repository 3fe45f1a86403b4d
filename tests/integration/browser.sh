# Headless Chromium for the status page tests (sourced after lib.sh).
command -v chromium >/dev/null || fail "chromium is not installed (.ci/bootstrap installs it)"

# browse [CHROMIUM OPTIONS] URL: renders the page, lets its script poll /status twice; with
# --dump-dom prints the DOM, with --screenshot=FILE writes a picture.
browse() {
    timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --user-data-dir="$W/chromium-profile" --window-size=1400,700 \
        --virtual-time-budget=5000 "$@" 2>>"$W/chromium.log"
}
