#!/usr/bin/python3
"""A throwaway SMTP server for the test suite: accepts every message and saves
it, as received, as one file in a directory (written under a temporary name,
then renamed, so a reader never sees half a message).

    smtp_sink.py HOST PORT DIRECTORY

Uses aiosmtpd (Debian: python3-aiosmtpd). Stops on SIGTERM or SIGINT.
"""

import os
import signal
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller


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
    host, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Saver(directory), hostname=host, port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("smtp sink on %s:%d -> %s" % (host, port, directory), flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
