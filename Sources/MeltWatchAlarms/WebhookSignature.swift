import Crypto
import Foundation

/// The `X-MeltWatch-Signature` header (contract section 4): `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
///
/// The same scheme as Stripe and Standard Webhooks: the timestamp is inside the MAC, so a receiver
/// that checks it against its own clock (``verify(header:body:secret:now:tolerance:)``) rejects replays.
public enum WebhookSignature {
    /// The header value for `body` signed at `timestamp` (unix seconds).
    public static func header(body: some Sequence<UInt8>, secret: [UInt8], timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(hex(mac(body: body, secret: secret, timestamp: timestamp)))"
    }

    /// True when `header` carries a valid v1 MAC of `body` made within `tolerance` seconds of `now`.
    public static func verify(header: String, body: some Sequence<UInt8>, secret: [UInt8], now: Int64, tolerance: Int64 = 300) -> Bool {
        var t: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "t": t = Int64(kv[1])
            case "v1": signatures.append(String(kv[1]))
            default: continue
            }
        }
        guard let t, abs(now - t) <= tolerance else { return false }
        let expected = Array(hex(mac(body: body, secret: secret, timestamp: t)).utf8)
        // Constant-time comparison: a timing side channel must not leak the MAC byte by byte.
        return signatures.contains { sig in
            let s = Array(sig.utf8)
            guard s.count == expected.count else { return false }
            var diff: UInt8 = 0
            for i in s.indices { diff |= s[i] ^ expected[i] }
            return diff == 0
        }
    }

    private static func mac(body: some Sequence<UInt8>, secret: [UInt8], timestamp: Int64) -> HashedAuthenticationCode<SHA256> {
        var h = HMAC<SHA256>(key: SymmetricKey(data: secret))
        h.update(data: Array("\(timestamp).".utf8))
        h.update(data: Array(body))
        return h.finalize()
    }

    private static func hex(_ code: HashedAuthenticationCode<SHA256>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in code {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
