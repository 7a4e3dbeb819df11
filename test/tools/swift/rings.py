"""Builds the rings of a single-node Swift with swift-ring-builder's own entry point
(swift.cli.ringbuilder.main, what /usr/bin/swift-ring-builder runs), every command in one Python
process: nine separate swift-ring-builder starts cost ~5 s on a loaded 2-core machine, this ~1 s.
Usage: rings.py DIR ACCOUNT_PORT CONTAINER_PORT OBJECT_PORT — one replica, partition power 6, one
device `d1` on 127.0.0.1 per ring."""
import sys

from swift.cli.ringbuilder import main as ring_builder


def run(*args):
    try:
        ring_builder(["swift-ring-builder", *args])
    except SystemExit as e:
        # 0 = done, 1 = done with warnings, 2 = error.
        if (e.code or 0) >= 2:
            sys.exit("swift-ring-builder %s: exit %s" % (" ".join(args), e.code))


def main():
    directory, ports = sys.argv[1], sys.argv[2:5]
    for name, port in zip(("account", "container", "object"), ports):
        builder = "%s/%s.builder" % (directory, name)
        run(builder, "create", "6", "1", "1")
        run(builder, "add", "r1z1-127.0.0.1:%s/d1" % port, "100")
        run(builder, "rebalance")


if __name__ == "__main__":
    main()
