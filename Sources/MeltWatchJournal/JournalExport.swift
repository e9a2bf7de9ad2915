import MeltWatchCore

/// `meltwatch journal export`: one line per received message, as recorded.
public enum JournalExport {
    public enum Format: Sendable {
        case jsonl, csv
    }

    /// `{"recv_time":"…","topic":"…","payload":"…"}` (plus `"payload_encoding":"base64"` when the
    /// payload is not UTF-8), or the CSV row `recv_time,topic,payload,payload_encoding`.
    public static func line(_ m: JournalMessage, format: Format) -> String {
        let topic = String(decoding: m.topic, as: UTF8.self)
        let text = String(validatingUTF8Bytes: m.payload)
        let payload = text ?? base64(m.payload)
        let encoding = text == nil ? "base64" : "text"
        switch format {
        case .jsonl:
            var w = JSONWriter()
            w.beginObject()
            w.key("recv_time"); w.string(m.receivedAt.rfc3339)
            w.key("topic"); w.string(topic)
            w.key("payload"); w.string(payload)
            if text == nil { w.key("payload_encoding"); w.string("base64") }
            w.endObject()
            return w.output
        case .csv:
            return [m.receivedAt.rfc3339, topic, payload, encoding].map(csvField).joined(separator: ",")
        }
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        var quoted = "\""
        for c in s { quoted += c == "\"" ? "\"\"" : String(c) }
        return quoted + "\""
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="), UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// The bytes as a string when they are valid UTF-8, nil otherwise.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
