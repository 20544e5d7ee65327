"""A Standard Webhooks receiver for latchkey's tests, checking every
delivery with the specification's reference implementation (PyPI
`standardwebhooks`, installed by scripts/webhooks-venv.sh).

    receiver.py SECRET_FILE OUT_FILE DELAY_SECONDS

Listens on 127.0.0.1 (a free port, printed as the first line of standard
output). For each POST it reads the endpoint's `whsec_` secret from
SECRET_FILE, verifies the request with `Webhook(secret).verify`, waits
DELAY_SECONDS (so that a test can kill the sender while a delivery is in
flight), appends one JSON line to OUT_FILE and answers 204; a request that
fails verification is recorded as {"invalid": reason} and answered 400.
Repeats of a `webhook-id` are recorded with "repeat": true, as the
specification tells receivers to drop them.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_FILE, OUT_FILE, DELAY = sys.argv[1], sys.argv[2], float(sys.argv[3])
seen = set()
lock = threading.Lock()


def record(line):
    with lock:
        with open(OUT_FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            with open(SECRET_FILE, encoding="utf-8") as f:
                secret = f.read().strip()
            payload = Webhook(secret).verify(body, headers)
        except (OSError, WebhookVerificationError) as e:
            record({"invalid": str(e)})
            self.send_response(400)
            self.end_headers()
            return
        time.sleep(DELAY)
        msg_id = headers["webhook-id"]
        with lock:
            repeat = msg_id in seen
            seen.add(msg_id)
        record({"id": msg_id, "type": payload["type"], "data": payload["data"], "repeat": repeat})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
