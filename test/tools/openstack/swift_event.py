"""Swift object events as ceilometermiddleware emits them, without a Swift proxy: its `swift`
filter (filter_factory, as a proxy-server.conf pipeline loads it) wraps a minimal WSGI app that
answers like Swift's proxy (201 to PUT, 204 to DELETE and POST, 200 otherwise), and each request
given on the command line (`METHOD /v1/AUTH_<project>/<container>[/<object>]`) goes through it.
The filter publishes one oslo.messaging notification (event_type objectstore.http.request, a CADF
event) per request on the control exchange `swift`, topic `notifications`."""
import argparse
import io
import sys

from ceilometermiddleware import swift as swift_middleware


def swift_like_app(environ, start_response):
    status = {"PUT": "201 Created", "DELETE": "204 No Content", "POST": "204 No Content"}.get(
        environ["REQUEST_METHOD"], "200 OK"
    )
    environ["wsgi.input"].read()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return [b""]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--exchange", default="swift")
    p.add_argument("requests", nargs="+", help="METHOD PATH pairs, e.g. PUT /v1/AUTH_p/c/o")
    args = p.parse_args()
    app = swift_middleware.filter_factory(
        {}, url=args.url, control_exchange=args.exchange, topic="notifications", swift_conf_file="/nonexistent"
    )(swift_like_app)
    pairs = list(zip(args.requests[0::2], args.requests[1::2]))
    for method, path in pairs:
        body = b"hello" if method in ("PUT", "POST") else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8080",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_PROJECT_ID": path.split("/")[2].replace("AUTH_", "") if path.count("/") >= 2 else "",
            "HTTP_X_USER_ID": "cds-test-user",
        }
        statuses = []
        for _ in app(environ, lambda status, headers, exc_info=None: statuses.append(status)):
            pass
    print(len(pairs))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
