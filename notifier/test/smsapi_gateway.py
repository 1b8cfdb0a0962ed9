"""An HTTP server on loopback that answers POST /sms.do as SMSAPI.pl's REST API does
(format=json): {"count":1,"list":[{...,"status":"QUEUE",...}]} on success, {"error":N,
"message":...,"invalid_numbers":[...]} on an error. Every request is appended to LOG as one
JSON line (method, path, headers, form fields) before the answer, for the test to check.

    smsapi_gateway.py PORT LOG TOKEN

Numbers steer the answer: 48500000013 -> error 13 (no valid number); 48500000201 -> error 201
(the gateway's own trouble) once, then success; 48500000999 -> a body that is not JSON;
48500000408 -> no answer for 10 s (the sender's timeout is shorter). A wrong token -> error 101.
"""
import json
import sys
import time
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SEEN_ONCE = set()


class Gateway(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        fields = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
        entry = {"method": "POST", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                 "fields": fields, "at": time.time()}
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        to = fields.get("to", "")
        if self.headers.get("Authorization") != "Bearer " + self.server.token:
            return self.reply(401, json.dumps({"error": 101, "message": "Authorization failed"}))
        if self.path.split("?")[0] != "/sms.do":
            return self.reply(404, json.dumps({"error": 8, "message": "Error in request"}))
        if to == "48500000013":
            return self.reply(200, json.dumps({"invalid_numbers": [{"number": to, "submitted_number": to,
                                                                    "message": "Invalid phone number"}],
                                               "error": 13, "message": "No correct phone numbers"}))
        if to == "48500000201":
            with LOCK:
                first = to not in SEEN_ONCE
                SEEN_ONCE.add(to)
            if first:
                return self.reply(200, json.dumps({"error": 201, "message": "System internal error"}))
        if to == "48500000999":
            return self.reply(502, "<html><body>Bad gateway</body></html>", "text/html")
        if to == "48500000408":
            time.sleep(10)
            return self.reply(200, "{}")
        return self.reply(200, json.dumps({"count": 1, "list": [{
            "id": "%d%s" % (int(time.time() * 1000), fields.get("idx", "")), "points": 0.16, "number": to,
            "date_sent": int(time.time()), "submitted_number": to, "status": "QUEUE", "error": None,
            "idx": fields.get("idx")}]}))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Gateway)
    server.log, server.token = sys.argv[2], sys.argv[3]
    print("smsapi_gateway: listening on 127.0.0.1:%s" % sys.argv[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
