#!/usr/bin/env python3
"""Writes the bad-input corpus (files + cases.json) next to this script.

Run once when a case is added; the files are committed. Each case names the reader that must reject the
file and the error id it must report. Python standard library only.
"""
import json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []

def put(rel, data, reader, error_id, why):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode('utf-8'))
    cases.append({"file": rel, "reader": reader, "errorId": error_id, "why": why})

def st(header, data=b'', declared=None):
    """A safetensors file: 8-byte little-endian length, header bytes, data."""
    h = header if isinstance(header, bytes) else header.encode('utf-8')
    return struct.pack('<Q', len(h) if declared is None else declared) + h + data

F32x4 = bytes(16)
ok = '{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}'

# safetensors: what the header reader (and, for BOOL values, the tensor reader) must refuse
put('safetensors/truncated-length-prefix.safetensors', st(ok, F32x4)[:5], 'safetensors', 'SafetensorsTruncated',
    'the file ends inside the 8-byte length prefix')
put('safetensors/truncated-inside-header.safetensors', st(ok, F32x4)[:8 + 20], 'safetensors', 'SafetensorsHeaderLengthExceedsFile',
    'the file ends inside the JSON header')
put('safetensors/truncated-inside-tensor.safetensors', st(ok, F32x4)[:-6], 'safetensors', 'SafetensorsTruncated',
    'the file ends inside the tensor data')
put('safetensors/header-length-beyond-file.safetensors', st(ok, F32x4, declared=len(ok) + 1000), 'safetensors',
    'SafetensorsHeaderLengthExceedsFile', 'the declared header length runs past the end of the file')
put('safetensors/header-length-2pow63.safetensors', st(ok, F32x4, declared=2**63), 'safetensors', 'SafetensorsHeaderTooLarge',
    'an absurd header length (2^63): refused before any allocation')
put('safetensors/header-length-101MB.safetensors', st(ok, F32x4, declared=101_000_000), 'safetensors', 'SafetensorsHeaderTooLarge',
    'above the reference cap of 100,000,000 bytes')
put('safetensors/header-not-utf8.safetensors', st(b'{"w\xff\xfe":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', F32x4),
    'safetensors', 'SafetensorsHeaderNotUtf8', 'invalid UTF-8 bytes in a tensor name')
put('safetensors/header-json-array.safetensors', st('[1,2,3]'), 'safetensors', 'SafetensorsHeaderNotObject',
    'valid JSON whose root is an array')
put('safetensors/header-json-string.safetensors', st('"hello"'), 'safetensors', 'SafetensorsHeaderNotObject',
    'valid JSON whose root is a string')
put('safetensors/header-invalid-json.safetensors', st('{"w":{"dtype":"F32",'), 'safetensors', 'SafetensorsInvalidJson',
    'the JSON stops in the middle')
put('safetensors/duplicate-tensor-name.safetensors',
    st('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', F32x4),
    'safetensors', 'SafetensorsDuplicateKey', 'the same tensor name twice')
put('safetensors/duplicate-metadata-key.safetensors',
    st('{"__metadata__":{"a":"1","a":"2"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', F32x4),
    'safetensors', 'SafetensorsDuplicateKey', 'the same metadata key twice')
put('safetensors/overlapping-offsets.safetensors',
    st('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', F32x4),
    'safetensors', 'SafetensorsOffsetsNotContiguous', 'two tensors share bytes 8..12')
put('safetensors/gap-between-tensors.safetensors',
    st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', F32x4),
    'safetensors', 'SafetensorsOffsetsNotContiguous', 'bytes 4..8 belong to no tensor')
put('safetensors/offsets-out-of-bounds.safetensors',
    st('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[40,56]}}', F32x4),
    'safetensors', 'SafetensorsOffsetsOutOfBounds',
    'tensor b lies past the end of a 16-byte data region and does not follow tensor a (not a plain truncation)')
put('safetensors/offset-2pow64.safetensors',
    st('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,18446744073709551616]}}', F32x4), 'safetensors', 'SafetensorsInvalidEntry',
    'an offset beyond any 64-bit integer')
put('safetensors/begin-after-end.safetensors',
    st('{"w":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}}', F32x4), 'safetensors', 'SafetensorsInvalidEntry',
    'begin > end')
put('safetensors/negative-dimension.safetensors',
    st('{"w":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}}', F32x4), 'safetensors', 'SafetensorsInvalidEntry',
    'negative dimensions whose product looks right')
put('safetensors/unknown-dtype.safetensors',
    st('{"w":{"dtype":"F31","shape":[2,2],"data_offsets":[0,16]}}', F32x4), 'safetensors', 'SafetensorsUnknownDtype',
    'a dtype the specification does not name')
put('safetensors/shape-offset-mismatch.safetensors',
    st('{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}}', F32x4), 'safetensors', 'SafetensorsShapeMismatch',
    '3x2 F32 needs 24 bytes, the span is 16')
put('safetensors/shape-overflow.safetensors',
    st('{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}', F32x4), 'safetensors', 'SafetensorsShapeMismatch',
    'an element count that overflows 64 bits')
put('safetensors/metadata-number-value.safetensors',
    st('{"__metadata__":{"ss_network_dim":16},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', F32x4),
    'safetensors', 'SafetensorsInvalidMetadata', 'a metadata value that is a number, not a string')
put('safetensors/metadata-not-object.safetensors',
    st('{"__metadata__":["a"],"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', F32x4),
    'safetensors', 'SafetensorsInvalidMetadata', '__metadata__ is an array')
put('safetensors/entry-missing-dtype.safetensors',
    st('{"w":{"shape":[2,2],"data_offsets":[0,16]}}', F32x4), 'safetensors', 'SafetensorsInvalidEntry', 'no dtype field')
put('safetensors/entry-extra-field.safetensors',
    st('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16],"stride":[2,1]}}', F32x4), 'safetensors', 'SafetensorsInvalidEntry',
    'a field the format does not have')
put('safetensors/bool-value-2.safetensors',
    st('{"b":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}}', bytes([0, 1, 2, 1])), 'safetensors-read', 'SafetensorsInvalidBoolValue',
    'a BOOL tensor holding the byte 2')

# state.json: the checkpoint state parser
def state(**changes):
    s = {"format": "kohyaps-checkpoint", "formatVersion": 1, "runName": "r", "runId": "a1", "checkpointId": "c1",
         "createdUtc": "2026-11-25T12:00:00Z", "globalStep": 10, "epoch": 1, "batchInEpoch": 2, "microBatches": 10,
         "samplesSeen": 40, "seed": 42, "lrSchedule": "constant", "lastLearningRate": 0.001, "threads": 2,
         "device": "cpu", "dtype": "float32", "tokenizer": {"vocabulary": ["a"], "maxLength": 8}, "reason": "Interval",
         "segments": []}
    s.update(changes)
    return json.dumps(s, indent=1)

put('state/valid.json', state(), 'state', '', 'the reference: parses')
put('state/step-is-string.json', state(globalStep="ten"), 'state', 'CheckpointStateInvalid', 'a step that is a string')
put('state/step-is-fraction.json', state(globalStep=10.5), 'state', 'CheckpointStateInvalid', 'a step that is not an integer')
put('state/negative-step.json', state(globalStep=-1), 'state', 'CheckpointStateInvalid', 'a negative step')
put('state/negative-epoch.json', state(epoch=-3), 'state', 'CheckpointStateInvalid', 'a negative epoch')
put('state/tokenizer-wrong-type.json', state(tokenizer="abc"), 'state', 'CheckpointStateInvalid', 'an object replaced by a string')
put('state/unknown-field.json', state(learningRateBoost=2), 'state', 'CheckpointStateInvalid', 'a field this version does not know')
put('state/future-version.json', state(formatVersion=99), 'state', 'CheckpointFormatUnsupported', 'written by a newer format version')
put('state/other-format.json', state(format="sd-scripts"), 'state', 'CheckpointStateInvalid', 'not our format name')
put('state/missing-run-id.json', state(runId=""), 'state', 'CheckpointStateInvalid', 'no run id')
put('state/not-json.json', 'globalStep = 10\n', 'state', 'CheckpointStateInvalid', 'TOML, not JSON')
put('state/json-null.json', 'null', 'state', 'CheckpointStateInvalid', 'the JSON literal null')
put('state/truncated.json', state()[:120], 'state', 'CheckpointStateInvalid', 'cut off in the middle')

# checksums.sha256: names must stay inside the checkpoint folder
H = 'ab' * 32
put('checksums/parent-path.sha256', f'{H}  ../x\n', 'checksums', 'ChecksumListInvalid', 'a name reaching out of the folder')
put('checksums/nested-parent-path.sha256', f'{H}  sub/../../x\n', 'checksums', 'ChecksumListInvalid', 'a path with separators')
put('checksums/absolute-path.sha256', f'{H}  /etc/passwd\n', 'checksums', 'ChecksumListInvalid', 'an absolute path')
put('checksums/windows-path.sha256', f'{H}  C:\\Windows\\win.ini\n', 'checksums', 'ChecksumListInvalid', 'a Windows path')
put('checksums/not-hex.sha256', f'{"zz" * 32}  model.safetensors\n', 'checksums', 'ChecksumListInvalid', 'a hash that is not hex')
put('checksums/short-hash.sha256', f'{H[:40]}  model.safetensors\n', 'checksums', 'ChecksumListInvalid', 'a SHA-1-length hash')
put('checksums/duplicate-entry.sha256', f'{H}  a\n{H}  a\n', 'checksums', 'ChecksumListInvalid', 'the same file listed twice')

with open(os.path.join(HERE, 'cases.json'), 'w') as f:
    json.dump(cases, f, indent=1)
    f.write('\n')
print(f'{len(cases)} cases')
