#!/usr/bin/env python3
"""Builds the standard-built DLMS/COSEM vectors of vectors.cc from IEC 62056-46/-47 and the Green
Book's rules, independently of the C++ decoder (python3 + `cryptography`). Prints each vector:
    python3 src/codec/dlms/testdata/build_vectors.py
"""
import struct
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def crc_x25(data):  # reflected 0x1021, init 0xFFFF, xorout 0xFFFF; sent LSB first
    c = 0xFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
    return (c ^ 0xFFFF).to_bytes(2, "little")


def hdlc(info, dst=b"\x41", src=b"\x03", control=0x13, segmented=False):
    """One frame of format type 3: flag, format (type 0xA, S, length), addresses, control, HCS,
    information, FCS, flag."""
    length = 2 + len(dst) + len(src) + 1 + 2 + len(info) + 2
    fmt = 0xA000 | (0x0800 if segmented else 0) | length
    head = fmt.to_bytes(2, "big") + dst + src + bytes([control])
    body = head + crc_x25(head) + info
    return b"\x7e" + body + crc_x25(body) + b"\x7e"


def wrapper(apdu, src=1, dst=1):  # IEC 62056-47: version 1, wPorts, length
    return struct.pack(">HHHH", 1, src, dst, len(apdu)) + apdu


def axdr_length(n):
    return bytes([n]) if n < 0x80 else b"\x82" + n.to_bytes(2, "big")


def glo(apdu, sc, ek, ak, title, ic):
    """general-glo-ciphering (0xDB), security suite 0: IV = title || IC, AAD = SC || AK."""
    iv = title + ic.to_bytes(4, "big")
    if sc & 0x30 == 0x30:
        sealed = AESGCM(ek).encrypt(iv, apdu, bytes([sc]) + ak)
        body = sealed[:len(apdu)] + sealed[len(apdu):len(apdu) + 12]  # 12-byte tag
    elif sc & 0x30 == 0x20:  # encryption only: GCM's CTR part, counter block IV || 00000002
        e = Cipher(algorithms.AES(ek), modes.CTR(iv + b"\x00\x00\x00\x02")).encryptor()
        body = e.update(apdu) + e.finalize()
    content = bytes([sc]) + ic.to_bytes(4, "big") + body
    return b"\xdb\x08" + title + axdr_length(len(content)) + content


EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
TITLE = bytes.fromhex("4D4D4D0000BC614E")
LLC = bytes.fromhex("E6E700")

def kamstrup_apdu():
    # The Kamstrup list 2 push of the shared captures (HAN 20171019 xibriz4.txt, 2017-10-20
    # 05:00:07, roarfred/AmsToMqttBridge, no licence stated), as the meter sent it.
    frame = bytes.fromhex(
        "7EA12D2B21134718E6E7000F00000000090C07E10A1405040005FF80000002230A0E4B616D73747275705F563030"
        "303109060101000005FF0A103537303635363732373433383937303209060101600101FF0A123638343131323142"
        "4E32343331303130343009060101010700FF06000009E309060101020700FF060000000009060101030700FF0600"
        "00000009060101040700FF06000001B8090601011F0700FF06000003E409060101330700FF06000000CF09060101"
        "470700FF06000003C509060101200700FF1200E709060101340700FF1200E209060101480700FF1200E809060001"
        "010000FF090C07E10A1405040005FF80000009060101010800FF06000684EC09060101020800FF06000000000906"
        "0101030800FF060000005009060101040800FF060000F17580027E")
    return frame[11:-3]  # after flag, format, addresses, control, HCS, LLC; before FCS, flag


apdu = kamstrup_apdu()
assert apdu[0] == 0x0F, apdu[:4].hex()
ciphered = glo(apdu, 0x30, EK, AK, TITLE, 0x01234567)
print("kamstrup list 2 APDU:", apdu.hex().upper())
print("glo 0x30 in HDLC:", hdlc(LLC + ciphered).hex().upper())
half = len(ciphered) // 2
seg = hdlc(LLC + ciphered[:half], segmented=True) + hdlc(ciphered[half:])[1:]  # frames share a flag
print("glo 0x30 in two HDLC segments:", seg.hex().upper())
print("glo 0x30 in the wrapper:", wrapper(ciphered).hex().upper())
print("glo 0x20 in the wrapper:", wrapper(glo(apdu, 0x20, EK, AK, TITLE, 0x01234568)).hex().upper())

# The Green Book's AES-GCM example (glo-get-request C0 01 00 00 08 00 00 01 00 00 FF 02 00) in a
# general-glo-ciphering envelope: authenticates with the published key, then is no push.
print("green book in general-glo-ciphering:", glo(bytes.fromhex("C0010000080000010000FF0200"), 0x30, EK, AK, TITLE, 0x01234567).hex().upper())

# A push with typed values and scaler-units (Blue Book interface class 3): logical device name,
# then {OBIS, value, {scaler, unit}} for int8, int16, int32, int64, uint64, float32, float64,
# enum and boolean values.
def obis(*o):
    return b"\x09\x06" + bytes(o)


def su(scaler, unit):
    return b"\x02\x02\x0f" + struct.pack(">b", scaler) + b"\x16" + bytes([unit])


def entry(o, value, scaler=None, unit=None):
    items = [obis(*o), value] + ([su(scaler, unit)] if scaler is not None else [])
    return b"\x02" + bytes([len(items)]) + b"".join(items)


entries = [
    entry((0, 0, 42, 0, 0, 255), b"\x09\x10" + b"MHU0000000000042"),
    entry((1, 0, 1, 8, 0, 255), b"\x06" + struct.pack(">I", 12345678), 0, 30),   # 12345.678 kWh
    entry((1, 0, 2, 8, 0, 255), b"\x15" + struct.pack(">Q", 2**40), 1, 30),      # uint64, 10 Wh
    entry((1, 0, 16, 7, 0, 255), b"\x05" + struct.pack(">i", -1500), 0, 27),     # -1.5 kW
    entry((1, 0, 32, 7, 0, 255), b"\x12" + struct.pack(">H", 2308), -1, 35),     # 230.8 V
    entry((1, 0, 31, 7, 0, 255), b"\x10" + struct.pack(">h", -25), -2, 33),      # int16 -0.25 A
    entry((1, 0, 14, 7, 0, 255), b"\x17" + struct.pack(">f", 49.75), 0, 44),     # float32 Hz
    entry((1, 0, 13, 7, 0, 255), b"\x0f" + struct.pack(">b", -97), -2, 255),     # int8 PF -0.97
    entry((0, 1, 24, 2, 1, 255), b"\x18" + struct.pack(">d", 1234.5), -3, 13),   # float64 m3
    entry((1, 0, 3, 8, 0, 255), b"\x14" + struct.pack(">q", -7), 3, 32),         # int64 kvarh
    entry((0, 0, 96, 3, 10, 255), b"\x16\x01"),                                   # enum (disconnect)
    entry((0, 0, 96, 14, 0, 255), b"\x03\x01"),                                   # boolean
]
body = b"\x02" + bytes([len(entries)]) + b"".join(entries)
# date-time 2024-03-15 10:30:00, deviation -60 (CET), clock status 0
dt = struct.pack(">HBBBBBBBhB", 2024, 3, 15, 5, 10, 30, 0, 0, -60, 0)
typed = b"\x0f\x00\x00\x00\x07\x0c" + dt + body
print("typed push in the wrapper:", wrapper(typed).hex().upper())
