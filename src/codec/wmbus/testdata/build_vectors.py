#!/usr/bin/env python3
"""Builds the standard-built wM-Bus vectors of vectors.cc from EN 13757-3/-4 and OMS Vol. 2 rules,
independently of the C++ decoder (python3 + `cryptography`). Run it to see every vector's bytes:
    python3 src/codec/wmbus/testdata/build_vectors.py
"""
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def crc(data):  # CRC-16/EN-13757: poly 0x3D65, init 0, no reflection, xorout 0xFFFF
    c = 0
    for b in data:
        c ^= b << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x3D65) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
    return c ^ 0xFFFF


def be16(v):
    return bytes([v >> 8, v & 0xFF])


def format_a(t):  # t = L C M A CI ... without CRCs
    out = t[:10] + be16(crc(t[:10]))
    for i in range(10, len(t), 16):
        block = t[i:i + 16]
        out += block + be16(crc(block))
    return out


def format_b(t):  # L counts the CRC bytes too; one CRC over everything below 128 bytes
    body = bytes([len(t) + 1]) + t[1:]
    return body + be16(crc(body))


def manufacturer(code):
    m = (ord(code[0]) - 64) << 10 | (ord(code[1]) - 64) << 5 | (ord(code[2]) - 64)
    return bytes([m & 0xFF, m >> 8])


def telegram(c, m, ident, version, dtype, rest):
    body = bytes([c]) + m + ident + bytes([version, dtype]) + rest
    return bytes([len(body)]) + body


M = manufacturer("MHU")
ID = bytes.fromhex("78563412")  # 12345678, least significant byte first
KEY = bytes(range(16))

# A heat meter's records (EN 13757-3): energy 1234.56 kWh (BCD8, VIF 0x04 = 10 Wh), volume
# 12.345 m3, volume flow 0.123 m3/h, flow 41.2 C, return 30.1 C, difference 11.1 K, energy at
# storage 1 = 100 kWh dated 2023-12-31 (type G), energy tariff 1 = 500 kWh, the meter's clock
# 2024-03-15 10:30 (type F), error flags 0.
RECORDS = bytes.fromhex(
    "0C0456341200" "0C1345230100" "0B3B230100" "0A5A1204" "0A5E0103" "0A621101"
    "4C0400000100" "426CFF2C" "8C100400000500" "046D1E0A0F33" "02FD170000")

plain = telegram(0x44, M, ID, 0x01, 0x04, bytes.fromhex("7A2A000000") + RECORDS)
print("plain (CRCs removed):", plain.hex().upper())
print("format A:", format_a(plain).hex().upper())
print("format B:", format_b(plain).hex().upper())

# Security mode 5: CW 0x0540 = mode 5, 4 blocks; IV = M || A || ACC x 8.
enc_plain = b"\x2F\x2F" + RECORDS
enc_plain += b"\x2F" * (-len(enc_plain) % 16)
acc = 0x2A
iv = M + ID + bytes([0x01, 0x04]) + bytes([acc]) * 8
e = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
ct = e.update(enc_plain) + e.finalize()
cw = (5 << 8) | ((len(ct) // 16) << 4)
mode5 = telegram(0x44, M, ID, 0x01, 0x04, bytes([0x7A, acc, 0x00, cw & 0xFF, cw >> 8]) + ct)
print("mode 5:", mode5.hex().upper())

# ELL II (CI 0x8D) with AES-128-CTR: CC 0x20, ACC 0x2A, SN with encryption 1 in bits 29..31;
# the payload CRC (CRC-16/EN-13757 of what follows, LSB first) and the payload are encrypted.
cc, sn = 0x20, (1 << 29) | 0x12345 << 4 | 3
sn_b = sn.to_bytes(4, "little")
inner = bytes([0x78]) + RECORDS
payload = crc(inner).to_bytes(2, "little") + inner
ctr = M + ID + bytes([0x01, 0x04]) + bytes([cc & ~0x12]) + sn_b + b"\x00\x00\x00"
e = Cipher(algorithms.AES(KEY), modes.CTR(ctr)).encryptor()
ell = telegram(0x44, M, ID, 0x01, 0x04, bytes([0x8D, cc, acc]) + sn_b + e.update(payload) + e.finalize())
print("ELL AES-CTR:", ell.hex().upper())
