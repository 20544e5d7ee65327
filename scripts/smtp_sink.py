#!/usr/bin/python3
"""A throwaway SMTP server for the test suite: accepts every message and saves
it, as received, as one file in a directory (written under a temporary name,
then renamed, so a reader never sees half a message).

    smtp_sink.py HOST PORT DIRECTORY [--starttls CERT KEY | --tls CERT KEY] [--auth USER:PASSWORD]

--starttls requires STARTTLS before MAIL; --tls speaks TLS from the first
byte (implicit TLS); --auth requires AUTH (PLAIN or LOGIN, over TLS only)
with that user and password. Uses aiosmtpd (Debian: python3-aiosmtpd).
Stops on SIGTERM or SIGINT.
"""

import os
import signal
import ssl
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        name = "%020d-%s.eml" % (time.time_ns(), uuid.uuid4().hex)
        partial = os.path.join(self.directory, "." + name + ".partial")
        with open(partial, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(partial, os.path.join(self.directory, name))
        return "250 OK saved"


def main():
    args = sys.argv[1:]
    host, port, directory = args[0], int(args[1]), args[2]
    options = args[3:]
    kwargs = {}
    ssl_context = None
    while options:
        flag = options.pop(0)
        if flag in ("--starttls", "--tls"):
            cert, key = options.pop(0), options.pop(0)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            if flag == "--starttls":
                kwargs["tls_context"] = context
                kwargs["require_starttls"] = True
            else:
                ssl_context = context
                # the whole connection is TLS, though aiosmtpd only knows
                # of TLS begun with STARTTLS
                kwargs["auth_require_tls"] = False
        elif flag == "--auth":
            user, password = options.pop(0).split(":", 1)

            def authenticator(server, session, envelope, mechanism, data):
                ok = (
                    isinstance(data, LoginPassword)
                    and data.login == user.encode()
                    and data.password == password.encode()
                )
                # handled=False: aiosmtpd answers 535 itself
                return AuthResult(success=ok, handled=False)

            kwargs["authenticator"] = authenticator
            kwargs["auth_required"] = True
        else:
            sys.exit("unknown option %s" % flag)
    os.makedirs(directory, exist_ok=True)
    controller = Controller(
        Saver(directory), hostname=host, port=port, ssl_context=ssl_context, **kwargs
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("smtp sink on %s:%d -> %s" % (host, port, directory), flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
