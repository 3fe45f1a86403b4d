#include "privdrop.h"
#include "pcktr.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct passwd *
lookup(const char *user, char *errbuf)
{
    struct passwd *pw;
    char *end;
    unsigned long uid;

    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL && (uid = strtoul(user, &end, 10), *end == '\0'))
        pw = getpwuid((uid_t)uid);
    if (pw == NULL)
        pk_seterr(errbuf, -EINVAL, "RUN_AS=\"%s\" is invalid (no such user%s%s); accepted: a "
                  "user name or uid from /etc/passwd",
                  user, errno ? ": " : "", errno ? strerror(errno) : "");
    return pw;
}

int
pk_check_user(const char *user, char *errbuf)
{
    if (user == NULL || user[0] == '\0')
        return 0;
    return lookup(user, errbuf) != NULL ? 0 : -EINVAL;
}

int
pk_drop_privileges(const char *user, char *errbuf)
{
    struct passwd *pw;

    if (user == NULL || user[0] == '\0')
        return 0;
    if ((pw = lookup(user, errbuf)) == NULL)
        return -EINVAL;
    if (geteuid() == pw->pw_uid && getuid() == pw->pw_uid)
        return 0; /* already that user: nothing to give up */
    if (geteuid() != 0)
        return pk_seterr(errbuf, -EPERM, "RUN_AS=\"%s\": cannot switch user without root (running "
                         "as uid %u); start as root, or leave RUN_AS empty when the service "
                         "manager starts pcktr as that user",
                         user, (unsigned)geteuid());
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        return pk_seterr(errbuf, -errno, "RUN_AS=\"%s\": cannot switch to uid %u gid %u: %s",
                         user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, strerror(errno));
    /* Proof that it is for good: root must be out of reach now. */
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return pk_seterr(errbuf, -EPERM, "RUN_AS=\"%s\": root could be regained after the "
                         "switch; refusing to run", user);
    return 0;
}
