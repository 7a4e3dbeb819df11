"""Runs one Swift server (`account-server`, `container-server`, `object-server` or `proxy-server`)
from Debian's python3-swift with its configuration directory taken from the server's conf
(`swift_dir`), instead of the fixed /etc/swift: Debian's swift-*-server scripts read the hash path
prefix/suffix from /etc/swift/swift.conf only, so several all-in-ones (test/tools/start-swift.sh)
could not have their own. Usage: serve.py SERVER CONF_FILE [options of swift-*-server]."""
import configparser
import sys

from swift.common import constraints, utils


def main():
    server = sys.argv.pop(1)
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(sys.argv[1])
    utils.set_swift_dir(conf.get("DEFAULT", "swift_dir"))
    constraints.reload_constraints()
    from swift.common.wsgi import run_wsgi

    conf_file, options = utils.parse_options()
    sys.exit(run_wsgi(conf_file, server, **options))


if __name__ == "__main__":
    main()
