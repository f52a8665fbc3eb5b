"""The standard tables of WSP (WAP-230-WSP, Assigned Numbers): well-known content types,
character sets, header field names and Content-Disposition values, each one mapping that
encoders and decoders (:mod:`wap_push.wsp`) both read."""

from __future__ import annotations

import codecs


#: Well-known content types, WAP-230-WSP Table 40 (Assigned Numbers, OMNA registry 0x00..0x52).
CONTENT_TYPES: dict[int, str] = {
    0x00: "*/*", 0x01: "text/*", 0x02: "text/html", 0x03: "text/plain",
    0x04: "text/x-hdml", 0x05: "text/x-ttml", 0x06: "text/x-vCalendar", 0x07: "text/x-vCard",
    0x08: "text/vnd.wap.wml", 0x09: "text/vnd.wap.wmlscript", 0x0A: "text/vnd.wap.wta-event",
    0x0B: "multipart/*", 0x0C: "multipart/mixed", 0x0D: "multipart/form-data",
    0x0E: "multipart/byteranges", 0x0F: "multipart/alternative", 0x10: "application/*",
    0x11: "application/java-vm", 0x12: "application/x-www-form-urlencoded",
    0x13: "application/x-hdmlc", 0x14: "application/vnd.wap.wmlc",
    0x15: "application/vnd.wap.wmlscriptc", 0x16: "application/vnd.wap.wta-eventc",
    0x17: "application/vnd.wap.uaprof", 0x18: "application/vnd.wap.wtls-ca-certificate",
    0x19: "application/vnd.wap.wtls-user-certificate", 0x1A: "application/x-x509-ca-cert",
    0x1B: "application/x-x509-user-cert", 0x1C: "image/*", 0x1D: "image/gif", 0x1E: "image/jpeg",
    0x1F: "image/tiff", 0x20: "image/png", 0x21: "image/vnd.wap.wbmp",
    0x22: "application/vnd.wap.multipart.*", 0x23: "application/vnd.wap.multipart.mixed",
    0x24: "application/vnd.wap.multipart.form-data",
    0x25: "application/vnd.wap.multipart.byteranges",
    0x26: "application/vnd.wap.multipart.alternative", 0x27: "application/xml", 0x28: "text/xml",
    0x29: "application/vnd.wap.wbxml", 0x2A: "application/x-x968-cross-cert",
    0x2B: "application/x-x968-ca-cert", 0x2C: "application/x-x968-user-cert",
    0x2D: "text/vnd.wap.si", 0x2E: "application/vnd.wap.sic", 0x2F: "text/vnd.wap.sl",
    0x30: "application/vnd.wap.slc", 0x31: "text/vnd.wap.co", 0x32: "application/vnd.wap.coc",
    0x33: "application/vnd.wap.multipart.related", 0x34: "application/vnd.wap.sia",
    0x35: "text/vnd.wap.connectivity-xml", 0x36: "application/vnd.wap.connectivity-wbxml",
    0x37: "application/pkcs7-mime", 0x38: "application/vnd.wap.hashed-certificate",
    0x39: "application/vnd.wap.signed-certificate", 0x3A: "application/vnd.wap.cert-response",
    0x3B: "application/xhtml+xml", 0x3C: "application/wml+xml", 0x3D: "text/css",
    0x3E: "application/vnd.wap.mms-message", 0x3F: "application/vnd.wap.rollover-certificate",
    0x40: "application/vnd.wap.locc+wbxml", 0x41: "application/vnd.wap.loc+xml",
    0x42: "application/vnd.syncml.dm+wbxml", 0x43: "application/vnd.syncml.dm+xml",
    0x44: "application/vnd.syncml.notification", 0x45: "application/vnd.wap.xhtml+xml",
    0x46: "application/vnd.wv.csp.cir", 0x47: "application/vnd.oma.dd+xml",
    0x48: "application/vnd.oma.drm.message", 0x49: "application/vnd.oma.drm.content",
    0x4A: "application/vnd.oma.drm.rights+xml", 0x4B: "application/vnd.oma.drm.rights+wbxml",
    0x4C: "application/vnd.wv.csp+xml", 0x4D: "application/vnd.wv.csp+wbxml",
    0x4E: "application/vnd.syncml.ds.notification", 0x4F: "audio/*", 0x50: "video/*",
    0x51: "application/vnd.oma.dd2+xml", 0x52: "application/mikey",
}
CONTENT_TYPE_CODES: dict[str, int] = {name.lower(): code for code, name in CONTENT_TYPES.items()}

#: Character sets by IANA MIBenum (WAP-230-WSP Table 42 and the IANA registry):
#: MIBenum -> (preferred IANA name, Python codec).
CHARSETS: dict[int, tuple[str, str]] = {
    3: ("us-ascii", "ascii"), 4: ("iso-8859-1", "latin-1"), 5: ("iso-8859-2", "iso8859-2"),
    6: ("iso-8859-3", "iso8859-3"), 7: ("iso-8859-4", "iso8859-4"), 8: ("iso-8859-5", "iso8859-5"),
    9: ("iso-8859-6", "iso8859-6"), 10: ("iso-8859-7", "iso8859-7"),
    11: ("iso-8859-8", "iso8859-8"), 12: ("iso-8859-9", "iso8859-9"),
    13: ("iso-8859-10", "iso8859-10"), 17: ("shift_jis", "shift_jis"), 18: ("euc-jp", "euc_jp"),
    36: ("ks_c_5601-1987", "euc_kr"), 38: ("euc-kr", "euc_kr"), 39: ("iso-2022-jp", "iso2022_jp"),
    40: ("iso-2022-jp-2", "iso2022_jp_2"), 106: ("utf-8", "utf-8"),
    109: ("iso-8859-13", "iso8859-13"), 110: ("iso-8859-14", "iso8859-14"),
    111: ("iso-8859-15", "iso8859-15"), 112: ("iso-8859-16", "iso8859-16"), 113: ("gbk", "gbk"),
    114: ("gb18030", "gb18030"), 1000: ("iso-10646-ucs-2", "utf-16-be"),
    1013: ("utf-16be", "utf-16-be"), 1014: ("utf-16le", "utf-16-le"), 1015: ("utf-16", "utf-16"),
    1017: ("utf-32", "utf-32"), 1018: ("utf-32be", "utf-32-be"), 1019: ("utf-32le", "utf-32-le"),
    2025: ("gb2312", "gb2312"), 2026: ("big5", "big5"), 2084: ("koi8-r", "koi8-r"),
    2250: ("windows-1250", "cp1250"), 2251: ("windows-1251", "cp1251"),
    2252: ("windows-1252", "cp1252"), 2253: ("windows-1253", "cp1253"),
    2254: ("windows-1254", "cp1254"), 2255: ("windows-1255", "cp1255"),
    2256: ("windows-1256", "cp1256"), 2257: ("windows-1257", "cp1257"),
    2258: ("windows-1258", "cp1258"), 2259: ("tis-620", "tis-620"),
}
#: Any-charset (WSP §8.4.2.8): the octet 128, written ``*`` in text form.
ANY_CHARSET = "*"
UNKNOWN_CHARSET_PREFIX = "x-mibenum-"
WIDE_CODECS = frozenset({"utf-16", "utf-16-be", "utf-16-le", "utf-32", "utf-32-be", "utf-32-le"})


def _charset_lookup() -> dict[str, int]:
    table: dict[str, int] = {}
    for mib, (name, python_codec) in CHARSETS.items():
        table.setdefault(name, mib)
        table.setdefault(codecs.lookup(python_codec).name, mib)
    return table


CHARSET_BY_NAME = _charset_lookup()


#: WSP header field names, WAP-230-WSP Table 39 (encoding versions 1.1 to 1.4).
HEADER_FIELDS: dict[int, str] = {
    0x00: "Accept", 0x01: "Accept-Charset", 0x02: "Accept-Encoding", 0x03: "Accept-Language",
    0x04: "Accept-Ranges", 0x05: "Age", 0x06: "Allow", 0x07: "Authorization",
    0x08: "Cache-Control", 0x09: "Connection", 0x0A: "Content-Base", 0x0B: "Content-Encoding",
    0x0C: "Content-Language", 0x0D: "Content-Length", 0x0E: "Content-Location",
    0x0F: "Content-MD5", 0x10: "Content-Range", 0x11: "Content-Type", 0x12: "Date",
    0x13: "Etag", 0x14: "Expires", 0x15: "From", 0x16: "Host", 0x17: "If-Modified-Since",
    0x18: "If-Match", 0x19: "If-None-Match", 0x1A: "If-Range", 0x1B: "If-Unmodified-Since",
    0x1C: "Location", 0x1D: "Last-Modified", 0x1E: "Max-Forwards", 0x1F: "Pragma",
    0x20: "Proxy-Authenticate", 0x21: "Proxy-Authorization", 0x22: "Public", 0x23: "Range",
    0x24: "Referer", 0x25: "Retry-After", 0x26: "Server", 0x27: "Transfer-Encoding",
    0x28: "Upgrade", 0x29: "User-Agent", 0x2A: "Vary", 0x2B: "Via", 0x2C: "Warning",
    0x2D: "WWW-Authenticate", 0x2E: "Content-Disposition", 0x2F: "X-Wap-Application-Id",
    0x30: "X-Wap-Content-URI", 0x31: "X-Wap-Initiator-URI", 0x32: "Accept-Application",
    0x33: "Bearer-Indication", 0x34: "Push-Flag", 0x35: "Profile", 0x36: "Profile-Diff",
    0x37: "Profile-Warning", 0x38: "Expect", 0x39: "TE", 0x3A: "Trailer",
    0x3B: "Accept-Charset", 0x3C: "Accept-Encoding", 0x3D: "Cache-Control",
    0x3E: "Content-Range", 0x3F: "X-Wap-Tod", 0x40: "Content-ID", 0x41: "Set-Cookie",
    0x42: "Cookie", 0x43: "Encoding-Version", 0x44: "Profile-Warning",
    0x45: "Content-Disposition", 0x46: "X-WAP-Security", 0x47: "Cache-Control",
}
#: The code each header name is written with: the first (oldest) one, which every handset reads.
HEADER_FIELD_CODES: dict[str, int] = {}
for _code, _name in sorted(HEADER_FIELDS.items()):
    HEADER_FIELD_CODES.setdefault(_name.lower(), _code)

#: Content-Disposition values, WAP-230-WSP §8.4.2.53.
DISPOSITIONS: dict[int, str] = {128: "form-data", 129: "attachment", 130: "inline"}
DISPOSITION_CODES = {name: code for code, name in DISPOSITIONS.items()}
