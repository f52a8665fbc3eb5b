"""An M-Send.req made by python-messaging (the PyPI package, which `make test` installs into
.cache/pypi): someone else's MMS encoder, for proving mmsc against what it writes. Run with
that folder on PYTHONPATH; reads the message as JSON on stdin, writes the PDU to stdout.

Input: {"from": ..., "to": ..., "subject": ..., "slides": [{"image": path, "text": ...}]}.
python-messaging writes each text's own words as its SMIL ``src`` and gives the text part
no Content-ID or Content-Location; it references an image by the file's name. It was
written for Python 2, where ``str`` was octets: the text is handed to it as UTF-8 octets
and the image as the file's octets, each octet one character, as a Python 2 client did."""

import json
import sys

from messaging.mms.message import MMSMessage, MMSMessagePage


def octets(data: bytes) -> str:
    return data.decode("latin-1")


def main() -> None:
    spec = json.load(sys.stdin)
    message = MMSMessage()
    message.headers["From"] = spec["from"]
    message.headers["To"] = spec["to"]
    message.headers["Subject"] = spec["subject"]
    for slide in spec["slides"]:
        page = MMSMessagePage()
        if "image" in slide:
            page.add_image(slide["image"])
            with open(slide["image"], "rb") as image:  # the package reads it as text
                page.image[0]._data = octets(image.read())
        if "text" in slide:
            page.add_text(octets(slide["text"].encode("utf-8")))
        message.add_page(page)
    sys.stdout.buffer.write(message.encode().tobytes())


if __name__ == "__main__":
    main()
