// Golden vectors for stbridge's Hermes profile (relayer/satp/hermes.py), produced by the npm
// package @hyperledger/cactus-common (JsObjectSigner: secp256k1 over Keccak-256) and
// safe-stable-stringify, the two libraries SATP-Hermes signs and hashes its messages with.
//
// stdin: {"sign": [{"privateKey": hex, "field": "clientSignature"|"serverSignature",
//                   "message": obj}],
//         "verify": [{"publicKey": hex, "message": obj}]}
// BigInt values (protobuf uint64) are written {"$bigint": "123"} in the input.
// stdout: {"sign": [{"stringified", "dataHash", "signature", "signed", "hash"}],
//          "verify": [bool]}   ("signed" and "hash" keep BigInts as {"$bigint": ...})
"use strict";

const { JsObjectSigner } = require("@hyperledger/cactus-common");
const { stringify } = require("safe-stable-stringify");
const crypto = require("node:crypto");

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$bigint") return BigInt(value.$bigint);
    const out = {};
    for (const k of keys) out[k] = revive(value[k]);
    return out;
  }
  return value;
}

function bury(value) {
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (Array.isArray(value)) return value.map(bury);
  if (value && typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value)) out[k] = bury(value[k]);
    return out;
  }
  return value;
}

const sha256 = (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex");

// verification as Hermes does it: JSON round trip, empty the signature found, verify
function hermesVerify(signer, message, publicKeyHex) {
  const copy = JSON.parse(stringify(message));
  const field = copy.clientSignature ? "clientSignature" : "serverSignature";
  if (!copy[field]) throw new Error("no signature in message");
  const signature = new Uint8Array(Buffer.from(copy[field], "hex"));
  copy[field] = "";
  return signer.verify(stringify(copy), signature, new Uint8Array(Buffer.from(publicKeyHex, "hex")));
}

const input = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const anyKey = "01".repeat(32);
const out = { sign: [], verify: [] };
for (const c of input.sign || []) {
  const signer = new JsObjectSigner({ privateKey: c.privateKey });
  const message = revive(c.message);
  message[c.field] = "";
  const text = stringify(message);
  const signature = Buffer.from(signer.sign(text)).toString("hex");
  const signed = { ...message, [c.field]: signature };
  out.sign.push({
    stringified: text,
    dataHash: signer.dataHash(text),
    signature,
    signed: bury(signed),
    hash: sha256(stringify(signed)),
  });
}
for (const c of input.verify || []) {
  out.verify.push(hermesVerify(new JsObjectSigner({ privateKey: anyKey }), revive(c.message), c.publicKey));
}
process.stdout.write(JSON.stringify(out));
