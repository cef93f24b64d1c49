#!/usr/bin/env python3
"""Writes the small seed files of the GGUF fuzz target into tests/fuzz/seeds/gguf/.

An independent little GGUF writer (from the format's specification), so the seeds also cross-check the
C++ writer. Every seed stays well under 64 KB. Run: python3 tests/fuzz/gguf_seeds.py
One more seed is not generated: stories260K_header.gguf is the header (first 14176 bytes, up to the
tensor data) of the stories260K fixture (tinyllamas, MIT licence), a real header without its data.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "gguf")

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
              U64: "<Q", I64: "<q", F64: "<d"}
# tensor type id -> (block size, bytes per block)
TYPES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34), 12: (256, 144), 14: (256, 210), 26: (1, 4), 30: (1, 2)}


def gstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def value(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(value(et, x) for x in items)
    return struct.pack(SCALAR_FMT[t], v)


def gguf(kv, tensors, version=3, alignment=32, data=True, fill=0x11):
    """kv: [(key, type, value)], tensors: [(name, type_id, [ne...])]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv))
    for k, t, v in kv:
        out += gstr(k) + struct.pack("<I", t) + value(t, v)
    offset, blobs = 0, []
    for name, tid, ne in tensors:
        bs, ts = TYPES[tid]
        n = 1
        for d in ne:
            n *= d
        nbytes = n // bs * ts
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", tid, offset)
        blobs.append(bytes([(fill + i) & 0xFF for i in range(nbytes)]))
        offset += (nbytes + alignment - 1) // alignment * alignment
    out += b"\0" * (-len(out) % alignment)
    if data:
        for b in blobs:
            out += b + b"\0" * (-len(b) % alignment)
    return out


def seeds():
    arch = [("general.architecture", STR, "llama"), ("general.name", STR, "seed")]
    yield "minimal.gguf", gguf([], [])
    yield "v2_one_key.gguf", gguf([("general.architecture", STR, "llama")], [], version=2)
    yield "all_value_types.gguf", gguf(arch + [
        ("t.u8", U8, 200), ("t.i8", I8, -3), ("t.u16", U16, 60000), ("t.i16", I16, -300),
        ("t.u32", U32, 4000000000), ("t.i32", I32, -70000), ("t.f32", F32, 1.5), ("t.bool", BOOL, 1),
        ("t.u64", U64, 2**63 + 5), ("t.i64", I64, -(2**40)), ("t.f64", F64, 2.25),
        ("t.str", STR, "h\u00e9llo \u4e16\u754c \U0001f525"), ("t.empty", STR, ""),
        ("t.arr.u8", ARR, (U8, [1, 2, 3])), ("t.arr.i32", ARR, (I32, [-1, 0, 1])),
        ("t.arr.f32", ARR, (F32, [0.5, -0.5])), ("t.arr.bool", ARR, (BOOL, [1, 0])),
        ("t.arr.str", ARR, (STR, ["a", "", "\u2581b"])), ("t.arr.u64", ARR, (U64, [2**64 - 1])),
        ("t.arr.f64", ARR, (F64, [1e300])), ("t.arr.empty", ARR, (I16, [])),
    ], [("w", 0, [4])])
    yield "tensors.gguf", gguf(arch + [("llama.block_count", U32, 1)], [
        ("token_embd.weight", 0, [8, 4]), ("blk.0.attn_q.weight", 2, [64, 2]),
        ("blk.0.ffn_up.weight", 8, [32, 2, 2]), ("blk.0.ffn_down.weight", 12, [256, 1]),
        ("blk.0.attn_norm.weight", 1, [3]), ("blk.0.idx", 26, [2, 2, 2, 2]), ("output.weight", 14, [256]),
        ("output_norm.weight", 30, [5]),
    ])
    yield "align64.gguf", gguf(arch + [("general.alignment", U32, 64)],
                               [("a", 0, [3]), ("b", 1, [100]), ("c", 8, [32])], alignment=64)
    yield "header_only.gguf", gguf(arch, [("a", 0, [64, 64]), ("b", 0, [16])], data=False)
    yield "vocab.gguf", gguf(arch + [
        ("tokenizer.ggml.model", STR, "llama"),
        ("tokenizer.ggml.tokens", ARR, (STR, ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(16)]
                                        + ["\u2581the", "\u2581a", "ing"])),
        ("tokenizer.ggml.scores", ARR, (F32, [0.0] * 19 + [-1.0, -2.0, -3.0])),
        ("tokenizer.ggml.token_type", ARR, (I32, [2, 3, 3] + [6] * 16 + [1, 1, 1])),
        ("tokenizer.ggml.merges", ARR, (STR, ["\u2581 t", "h e"])),
        ("tokenizer.ggml.bos_token_id", U32, 1), ("tokenizer.ggml.add_bos_token", BOOL, 1),
        ("tokenizer.chat_template", STR, "{% for m in messages %}{{ m['content'] }}{% endfor %}"),
    ], [])
    split = [("split.no", U16, 0), ("split.count", U16, 2), ("split.tensors.count", I32, 2)]
    yield "split_part1.gguf", gguf(arch + split, [("a", 0, [8])])
    yield "split_part2.gguf", gguf([("split.no", U16, 1), ("split.count", U16, 2)], [("b", 0, [8])])


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        assert len(data) < 64 * 1024, name
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
