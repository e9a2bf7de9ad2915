import Testing

@testable import MeltWatchConfig

/// Issue 16, the zero-loss holes in the configuration: the subscription QoS, the journal's size bound.
@Suite("Config: broker.qos 1 only; journal.max_bytes and journal.min_free")
struct ZeroLossSettingsTests {
    private let minimal = "broker: {url: 'mqtt://h', client_id: a}\nplants: []\n"

    @Test("broker.qos 0 or 2 is refused at its position, saying why neither keeps the zero-loss promise", arguments: [0, 2])
    func qosRefused(qos: Int) {
        let d = diagnostics("broker:\n  url: mqtt://h\n  client_id: a\n  qos: \(qos)\nplants: []\n")
        #expect(d.count == 1, "got: \(d)")
        let line = d.first ?? ""
        #expect(line.hasPrefix("test.yaml:4:8: broker.qos is \(qos); allowed: 1 ("), "got: \(line)")
        #expect(line.contains("QoS 0 is never redelivered") && line.contains("QoS 2 libmosquitto 2.0 sends PUBREC before the message reaches"))
        #expect(line.contains("zero-loss promise"))
    }

    @Test("broker.qos: 1, or omitted, is QoS 1; a value that is not a whole number is refused with the allowed value")
    func qosOne() throws {
        #expect(try parse("broker:\n  url: mqtt://h\n  client_id: a\n  qos: 1\nplants: []\n").broker.qos == 1)
        #expect(try parse(minimal).broker.qos == 1)
        let d = diagnostics("broker:\n  url: mqtt://h\n  client_id: a\n  qos: one\nplants: []\n")
        #expect(d.first?.hasPrefix("test.yaml:4:8: broker.qos must be a whole number; allowed: 1 (") == true, "got: \(d)")
    }

    @Test("broker.keepalive_s: 5 s unless set; 2 to 60 s, refused at its position outside (issue 17: a dead link known within twice it)")
    func keepalive() throws {
        #expect(try parse(minimal).broker.keepAliveSeconds == 5)
        #expect(try parse("broker:\n  url: mqtt://h\n  client_id: a\n  keepalive_s: 10\nplants: []\n").broker.keepAliveSeconds == 10)
        for bad in ["1", "61", "five"] {
            let d = diagnostics("broker:\n  url: mqtt://h\n  client_id: a\n  keepalive_s: \(bad)\nplants: []\n")
            #expect(d.count == 1 && d.first?.hasPrefix("test.yaml:4:16: broker.keepalive_s") == true, "got: \(d)")
        }
    }

    @Test("journal sizes: whole bytes or KiB, MiB, GiB, TiB; no max_bytes is no size bound; min_free defaults to 1GiB")
    func sizes() throws {
        let defaults = try parse(minimal).journal
        #expect(defaults.maxBytes == nil)
        #expect(defaults.minFreeBytes == 1 << 30)
        let set = try parse(minimal + "journal:\n  max_bytes: 100GiB\n  min_free: 512MiB\n").journal
        #expect(set.maxBytes == 100 << 30)
        #expect(set.minFreeBytes == 512 << 20)
        let plain = try parse(minimal + "journal: {max_bytes: 1073741824, min_free: 0}\n").journal
        #expect(plain.maxBytes == 1 << 30)
        #expect(plain.minFreeBytes == 0)
        let spaced = try parse(minimal + "journal: {max_bytes: '2 TiB', min_free: \"64KiB\"}\n").journal
        #expect(spaced.maxBytes == 2 << 40)
        #expect(spaced.minFreeBytes == 64 << 10)
    }

    @Test("a bad journal size is refused at its position with the allowed form", arguments: [
        ("  max_bytes: 100GB\n", "test.yaml:4:14: journal.max_bytes is '100GB'; allowed: a whole number of bytes, or with KiB, MiB, GiB or TiB (e.g. 100GiB)"),
        ("  max_bytes: 1.5GiB\n", "test.yaml:4:14: journal.max_bytes is '1.5GiB'; allowed: a whole number"),
        ("  max_bytes: -1\n", "test.yaml:4:14: journal.max_bytes is '-1'; allowed: a whole number"),
        ("  max_bytes: GiB\n", "test.yaml:4:14: journal.max_bytes is 'GiB'; allowed: a whole number"),
        ("  max_bytes: 99999999TiB\n", "test.yaml:4:14: journal.max_bytes is '99999999TiB'; allowed: a whole number"),
        ("  max_bytes: 1000\n", "test.yaml:4:14: journal.max_bytes is 1000; allowed: at least 1MiB"),
        ("  max_bytes: [1]\n", "test.yaml:4:14: journal.max_bytes must be a size: a whole number"),
        ("  min_free: lots\n", "test.yaml:4:13: journal.min_free is 'lots'; allowed: a whole number"),
        ("  min_free:\n", "test.yaml:4:12: journal.min_free must be a size: a whole number"),
    ])
    func badSize(line: String, expected: String) {
        let d = diagnostics(minimal + "journal:\n" + line)
        #expect(d.count == 1 && d[0].hasPrefix(expected), "got: \(d)")
    }

    @Test("sizes parse and print in powers of 1024")
    func byteSizeText() {
        #expect(MeltWatchConfig.parseByteSize("0") == 0)
        #expect(MeltWatchConfig.parseByteSize("1KiB") == 1024)
        #expect(MeltWatchConfig.parseByteSize("3 MiB") == 3 << 20)
        #expect(MeltWatchConfig.parseByteSize("16777215TiB") == 16_777_215 << 40)
        #expect(MeltWatchConfig.parseByteSize("16777216TiB") == nil)  // 2^64: too large
        #expect(MeltWatchConfig.parseByteSize("1 kib") == nil)
        #expect(MeltWatchConfig.parseByteSize("") == nil)
        #expect(MeltWatchConfig.formatByteSize(1 << 20) == "1MiB")
        #expect(MeltWatchConfig.formatByteSize(1536 << 20) == "1536MiB")
        #expect(MeltWatchConfig.formatByteSize(1000) == "1000")
    }
}
