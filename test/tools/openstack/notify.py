"""Publishes OpenStack notifications the way Nova does: oslo.messaging's Notifier (driver
messagingv2, topic `notifications`) into the RabbitMQ at --url, on the control exchange
--exchange. Reads one JSON object per line on stdin: {"event_type", "payload", "priority"?,
"publisher_id"?}; prints the number sent. Used by test/brokers/openstack.test.ts."""
import argparse
import json
import sys

import oslo_messaging
from oslo_config import cfg


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--exchange", default="nova")
    p.add_argument("--publisher", default="compute.cds-test-host")
    args = p.parse_args()
    conf = cfg.ConfigOpts()
    conf([], project="cds-test")
    oslo_messaging.set_transport_defaults(args.exchange)
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    sent = 0
    notifiers = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        n = json.loads(line)
        publisher = n.get("publisher_id", args.publisher)
        if publisher not in notifiers:
            notifiers[publisher] = oslo_messaging.Notifier(
                transport, publisher_id=publisher, driver="messagingv2", topics=["notifications"]
            )
        notifier = notifiers[publisher]
        getattr(notifier, n.get("priority", "info"))({}, n["event_type"], n["payload"])
        sent += 1
    transport.cleanup()
    print(sent)


if __name__ == "__main__":
    main()
