import MeltWatchCore
import Testing

@testable import MeltWatchDecode

/// The tags, formats and clock the gateway format tests share.
private enum GW {
    /// 2025-11-23T08:00:00.123Z, the contract's example time.
    static let ts: Int64 = 1_763_884_800_123
    static let time = EventTime(milliseconds: ts)
    /// The receiver's clock: one second after `ts`.
    static let now = EventTime(milliseconds: ts + 1_000)
    static let topic = "gateways/site-1/data"

    static func table(_ bindings: KeyValuePairs<String, Int32>) -> TagTable {
        var t = TagTable()
        for (tag, id) in bindings {
            do { try t.add(tag: tag, signal: SignalID(id)) } catch { fatalError("tag table: \(error)") }
        }
        return t
    }

    static func kepware(maxPayloadBytes: Int = 65_536) -> KepwareIoTFormat {
        KepwareIoTFormat(
            tags: table(["Channel1.Device1.FT101": 1, "Channel1.Device1.FT102": 2, "Channel1.Device1.RUN": 3]),
            maxPayloadBytes: maxPayloadBytes
        )
    }

    static func neuron(maxPayloadBytes: Int = 65_536) -> NeuronFormat {
        NeuronFormat(
            tags: table(["n/g/FT101": 1, "n/g/FT102": 2, "n/g/RUN": 3, "节点/组/温度": 4]), maxPayloadBytes: maxPayloadBytes
        )
    }

    /// Readings at `data.points`, tag at `meta.tag`, quality at `q.code` (good: 192, "good", true).
    static let nested = JSONMapping(
        readings: ["data", "points"], tag: .field(["meta", "tag"]), value: ["v"], time: ["ts"],
        timeFormat: .epochMilliseconds,
        quality: .init(field: ["q", "code"], good: [.number(192), .string("good"), .bool(true)])
    )
    /// One reading per message, the topic is the tag, RFC 3339 time.
    static let single = JSONMapping(tag: .topic, value: ["value"], time: ["time"], timeFormat: .rfc3339)
    /// The payload is the array; numeric or string ids; epoch seconds.
    static let rootArray = JSONMapping(readings: [], tag: .field(["id"]), value: ["val"], time: ["t"], timeFormat: .epochSeconds)

    static func mapped(_ mapping: JSONMapping, maxPayloadBytes: Int = 65_536) -> MappedJSONFormat {
        MappedJSONFormat(
            mapping: mapping, tags: table(["FT101": 1, "FT102": 2, "17": 3, "site/a/FT101": 4]), maxPayloadBytes: maxPayloadBytes
        )
    }

    static func reading(_ signal: Int32, _ value: Value, _ quality: Quality = .good, at time: Int64 = ts) -> Reading {
        Reading(signal: SignalID(signal), value: value, quality: quality, time: EventTime(milliseconds: time), sequence: nil)
    }
}

/// Decodes with an output that already holds ``Fixture/sentinel`` and checks what every decode
/// must satisfy: no effects, a reject leaves the output as it was, an outcome counts what it appended.
private func run(_ format: some GatewayFormat, _ payload: [UInt8], topic: String = GW.topic) -> Decoded {
    var out = [Fixture.sentinel]
    var effects = GatewayEffects()
    var topicText = topic
    let result = payload.withUnsafeBytes { p in
        topicText.withUTF8 { t in
            format.decode(topic: UnsafeRawBufferPointer(t), payload: p, now: GW.now, into: &out, effects: &effects)
        }
    }
    #expect(effects.isEmpty)
    switch result {
    case .success(let outcome):
        #expect(out.first == Fixture.sentinel)
        #expect(out.count - 1 == outcome.readings)
    case .failure(let error):
        #expect(out == [Fixture.sentinel], "a reject must leave the output untouched")
        #expect(!error.detail.isEmpty)
    }
    return Decoded(result: result, out: out)
}

private func run(_ format: some GatewayFormat, _ payload: String, topic: String = GW.topic) -> Decoded {
    run(format, Array(payload.utf8), topic: topic)
}

/// A payload that must be rejected and its one counter reason.
struct GatewayReject: Sendable, CustomTestStringConvertible {
    var payload: String
    var reason: RejectReason
    init(_ payload: String, _ reason: RejectReason) {
        self.payload = payload
        self.reason = reason
    }
    var testDescription: String { "\(reason.rawValue) ← \(payload.prefix(100).debugDescription)" }
}

/// `{"x":[[[…]]]}` nested `levels` deep inside an ignored field.
private func deeplyNested(_ levels: Int, in prefix: String = #"{"x":"#, suffix: String = "}") -> String {
    prefix + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + suffix
}

// MARK: - kepware-iot

@Suite("kepware-iot: KEPServerEX IoT Gateway JSON")
struct KepwareFormatTests {
    static let example =
        #"{"timestamp":1763884800123,"values":[{"id":"Channel1.Device1.FT101","v":12.5,"q":true,"t":1763884800123}]}"#

    @Test("the contract's example decodes to its reading")
    func example() {
        let d = run(GW.kepware(), Self.example)
        #expect(d.outcome == DecodeOutcome(readings: 1))
        #expect(d.appended == [GW.reading(1, .number(12.5))])
        #expect(GW.kepware().formatName == "kepware-iot")
    }

    @Test("every entry on its own time; q false is bad; unknown tags counted with any value; keys in any order")
    func entries() {
        let payload = """
            {"values":[
              {"id":"Channel1.Device1.FT101","v":12.5,"q":true,"t":1763884800123},
              {"t":1763884800100,"q":false,"v":-3e1,"id":"Channel1.Device1.FT102","r":"ignored"},
              {"id":"Channel1.Device1.Name","v":"Lance \\"A\\"","q":true,"t":1763884800123},
              {"id":"Channel1.Device1.Arr","v":[1,2,{"x":null}],"q":true,"t":1763884800123},
              {"id":"Channel1.Device1.RUN","v":true,"q":true,"t":1763884800120},
              {"id":"Channel1.Device1.Nil","v":null,"q":false,"t":1763884800123},
              {"id":"Channel1.Device1.FT101","v":12.75,"q":true,"t":1763884800124}
            ],"timestamp":1763884800130,"server":"kep-1"}
            """
        let d = run(GW.kepware(), payload)
        #expect(d.outcome == DecodeOutcome(readings: 4, unknownTags: 3))
        #expect(d.appended == [
            GW.reading(1, .number(12.5)),
            GW.reading(2, .number(-30), .bad, at: GW.ts - 23),
            GW.reading(3, .bool(true), at: GW.ts - 3),
            // The same tag twice: two readings, each on its own time.
            GW.reading(1, .number(12.75), at: GW.ts + 1),
        ])
    }

    @Test("escaped ids are unescaped before the lookup")
    func escapedID() {
        let d = run(GW.kepware(), #"{"values":[{"\u0069d":"Channel1.Device1.FT\u0031\u00301","v":1,"q":true,"t":1763884800123}]}"#)
        #expect(d.appended == [GW.reading(1, .number(1))])
    }

    static let rejects: [GatewayReject] = [
        GatewayReject(#"{"timestamp":1763884800123}"#, .missingField),
        GatewayReject(#"{}"#, .missingField),
        GatewayReject(#"{"values":{"id":"Channel1.Device1.FT101"}}"#, .wrongType),
        GatewayReject(#"{"values":[]}"#, .emptyBatch),
        GatewayReject(#"{"values":[12.5]}"#, .wrongType),
        GatewayReject(#"{"values":[{"v":1,"q":true,"t":1763884800123}]}"#, .missingField),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","q":true,"t":1763884800123}]}"#, .missingField),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"t":1763884800123}]}"#, .missingField),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true}]}"#, .missingField),
        // Missing fields reject even on an unknown tag: the entry is malformed, not merely unbound.
        GatewayReject(#"{"values":[{"id":"Other","v":1,"q":true}]}"#, .missingField),
        GatewayReject(#"{"values":[{}]}"#, .missingField),
        GatewayReject(#"{"values":[{"id":101,"v":1,"q":true,"t":1763884800123}]}"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":"true","t":1763884800123}]}"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":1,"t":1763884800123}]}"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":"2025-11-23T08:00:00Z"}]}"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":-1}]}"#, .badTimestamp),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763884800123.5}]}"#, .badTimestamp),
        // Strings, null and containers are fine on unknown tags only.
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":"12.5","q":true,"t":1763884800123}]}"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":null,"q":true,"t":1763884800123}]}"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.RUN","v":[true],"q":true,"t":1763884800123}]}"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1e999,"q":true,"t":1763884800123}]}"#, .nonFinite),
        GatewayReject(#"{"values":[{"id":"Other","v":NaN,"q":true,"t":1763884800123}]}"#, .nonFinite),
        GatewayReject(#"{"values":[{"id":"Other","v":-1e999,"q":true,"t":1763884800123}]}"#, .nonFinite),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":-Infinity,"q":true,"t":1763884800123}]}"#, .nonFinite),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"v":2,"q":true,"t":1763884800123}]}"#, .duplicateKey),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763884800123}],"values":[]}"#, .duplicateKey),
        GatewayReject(
            #"{"values":[{"id":"Other","v":1,"q":true,"t":1763884800123,"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"a":0}]}"#,
            .duplicateKey
        ),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763885101124}]}"#, .futureTimestamp),
        GatewayReject(#"{"values":[{"id":"Unbound","v":1,"q":true,"t":1763885101124}]}"#, .futureTimestamp),
        GatewayReject(#"[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763884800123}]"#, .wrongType),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763884800123}]} x"#, .malformedJSON),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763884800123},]}"#, .malformedJSON),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763884800123,}]}"#, .malformedJSON),
        GatewayReject(#"{"values":[{"id":"Channel1.Device1.FT101" "v":1,"q":true,"t":1763884800123}]}"#, .malformedJSON),
        GatewayReject(deeplyNested(40, in: #"{"values":[{"id":"Other","q":true,"t":1763884800123,"v":"#, suffix: "}]}"), .tooDeep),
        GatewayReject(deeplyNested(40), .tooDeep),
    ]

    @Test("rejects with the specific reason and leaves the output untouched", arguments: rejects)
    func rejected(_ c: GatewayReject) {
        #expect(run(GW.kepware(), c.payload).error?.reason == c.reason)
    }

    @Test("every truncation of the example is malformed_json")
    func truncated() {
        let bytes = Array(Self.example.utf8)
        for n in 0..<bytes.count {
            let reason = run(GW.kepware(), Array(bytes[..<n])).error?.reason
            #expect(reason == .malformedJSON, "cut at \(n)")
        }
    }

    @Test("a payload over the limit is oversize before it is parsed")
    func oversize() {
        let format = GW.kepware(maxPayloadBytes: 64)
        #expect(run(format, "{" + String(repeating: " ", count: 64)).error?.reason == .oversize)
        #expect(run(format, "{" + String(repeating: " ", count: 63)).error?.reason == .malformedJSON)
        // The default limit is the contract's 64 KiB.
        #expect(run(GW.kepware(), String(repeating: " ", count: 65_537)).error?.reason == .oversize)
    }

    @Test("invalid UTF-8 in an ignored string is malformed")
    func invalidUTF8() {
        let payload = Array(#"{"values":[{"id":"Other","v":""#.utf8) + [0xC3, 0x28] + Array(#"","q":true,"t":1763884800123}]}"#.utf8)
        #expect(run(GW.kepware(), payload).error?.reason == .malformedJSON)
    }
}

// MARK: - neuron

@Suite("neuron: EMQ Neuron values-format and tags-format")
struct NeuronFormatTests {
    static let valuesExample = #"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":12.5},"errors":{"FT102":3}}"#
    static let tagsExample =
        #"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"FT101","value":12.5},{"name":"FT102","error":3}]}"#
    /// What both examples mean: FT101 good, FT102 bad with the filler value 0.
    static let expected = [GW.reading(1, .number(12.5)), GW.reading(2, .number(0), .bad)]

    @Test("the contract's examples decode to their readings", arguments: [valuesExample, tagsExample])
    func examples(_ payload: String) {
        let d = run(GW.neuron(), payload)
        #expect(d.outcome == DecodeOutcome(readings: 2))
        #expect(d.appended == Self.expected)
        #expect(GW.neuron().formatName == "neuron")
    }

    @Test("node and group may follow the readings; the timestamp may come last")
    func keyOrder() {
        let payloads = [
            #"{"values":{"FT101":12.5},"errors":{"FT102":3},"group":"g","node":"n","timestamp":1763884800123}"#,
            #"{"tags":[{"error":3,"name":"FT102"},{"value":12.5,"name":"FT101"}],"node":"n","timestamp":1763884800123,"group":"g"}"#,
        ]
        let first = run(GW.neuron(), payloads[0])
        #expect(first.appended == Self.expected)
        let second = run(GW.neuron(), payloads[1])
        #expect(second.appended == Self.expected.reversed())
    }

    @Test("unknown tags are counted, whatever their value; the rest is read")
    func unknownTags() {
        let payload = """
            {"timestamp":1763884800123,"node":"n","group":"g",
             "values":{"FT101":1,"NAME":"lance A","ARR":[1,2],"RUN":true,"NUL":null,"OBJ":{"a":1}},
             "errors":{"GONE":3011,"FT102":2014}}
            """
        let d = run(GW.neuron(), payload)
        #expect(d.outcome == DecodeOutcome(readings: 3, unknownTags: 5))
        #expect(d.appended == [GW.reading(1, .number(1)), GW.reading(3, .bool(true)), GW.reading(2, .number(0), .bad)])
        let tags = run(GW.neuron(), #"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"X","value":"s"},{"name":"RUN","value":false}]}"#)
        #expect(tags.outcome == DecodeOutcome(readings: 1, unknownTags: 1))
        #expect(tags.appended == [GW.reading(3, .bool(false))])
    }

    @Test("the tag is node/group/name; node and group select the binding; escapes and any script work")
    func tagKey() {
        let other = run(GW.neuron(), #"{"timestamp":1763884800123,"node":"n2","group":"g","values":{"FT101":1}}"#)
        #expect(other.outcome == DecodeOutcome(readings: 0, unknownTags: 1))
        let escaped = run(GW.neuron(), #"{"timestamp":1763884800123,"node":"\u8282\u70b9","group":"组","values":{"温\u5ea6":1450}}"#)
        #expect(escaped.appended == [GW.reading(4, .number(1450))])
    }

    @Test("an entry with both value and error is an error")
    func valueAndError() {
        let d = run(GW.neuron(), #"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"FT101","value":5,"error":2}]}"#)
        #expect(d.appended == [GW.reading(1, .number(0), .bad)])
    }

    static let rejects: [GatewayReject] = [
        GatewayReject(#"{"node":"n","group":"g","values":{"FT101":1}}"#, .missingField),
        GatewayReject(#"{"timestamp":1763884800123,"group":"g","values":{"FT101":1}}"#, .missingField),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","values":{"FT101":1}}"#, .missingField),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g"}"#, .missingField),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"value":1}]}"#, .missingField),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"FT101"}]}"#, .missingField),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{},"errors":{}}"#, .emptyBatch),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[]}"#, .emptyBatch),
        GatewayReject(#"{"timestamp":"1763884800123","node":"n","group":"g","values":{"FT101":1}}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800.5,"node":"n","group":"g","values":{"FT101":1}}"#, .badTimestamp),
        GatewayReject(#"{"timestamp":1763884800123,"node":1,"group":"g","values":{"FT101":1}}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":[1]}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":{"FT101":1}}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":["FT101"]}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":7,"value":1}]}"#, .wrongType),
        // Strings on bound tags; error codes that are not numbers on bound tags.
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":"12.5"}}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"FT101","value":"on"}]}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","errors":{"FT102":"timeout"}}"#, .wrongType),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":NaN}}"#, .nonFinite),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"OTHER":Infinity}}"#, .nonFinite),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":1e400}}"#, .nonFinite),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"OTHER":1e400}}"#, .nonFinite),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"OTHER","error":1e400}]}"#, .nonFinite),
        // A name twice, however it is spelled or wherever it is listed.
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":1,"FT101":2}}"#, .duplicateKey),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"X":1,"\u0058":2}}"#, .duplicateKey),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT102":1},"errors":{"FT102":3}}"#, .duplicateKey),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"A","value":1},{"name":"A","error":1}]}"#, .duplicateKey),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","node":"n","group":"g","values":{"FT101":1}}"#, .duplicateKey),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"A","value":1,"name":"B"}]}"#, .duplicateKey),
        GatewayReject(#"{"timestamp":1763885101124,"node":"n","group":"g","values":{"FT101":1}}"#, .futureTimestamp),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":1}}}"#, .malformedJSON),
        GatewayReject(#"{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":1,}}"#, .malformedJSON),
        GatewayReject(#""values""#, .wrongType),
        GatewayReject(deeplyNested(40, in: #"{"timestamp":1763884800123,"node":"n","group":"g","values":{"X":"#, suffix: "}}"), .tooDeep),
        GatewayReject(deeplyNested(40, in: #"{"values":{"X":"#, suffix: #"},"timestamp":1763884800123,"node":"n","group":"g"}"#), .tooDeep),
    ]

    @Test("rejects with the specific reason and leaves the output untouched", arguments: rejects)
    func rejected(_ c: GatewayReject) {
        #expect(run(GW.neuron(), c.payload).error?.reason == c.reason)
    }

    @Test("every truncation of the examples is malformed_json", arguments: [valuesExample, tagsExample])
    func truncated(_ payload: String) {
        let bytes = Array(payload.utf8)
        let format = GW.neuron()
        for n in 0..<bytes.count {
            #expect(run(format, Array(bytes[..<n])).error?.reason == .malformedJSON, "cut at \(n)")
        }
        // The reusable buffers carry nothing over: the whole example still decodes.
        #expect(run(format, payload).appended == Self.expected)
    }

    @Test("a payload over the limit is oversize")
    func oversize() {
        let format = GW.neuron(maxPayloadBytes: 64)
        #expect(run(format, Self.valuesExample).error?.reason == .oversize)
    }

    @Test("many names: duplicates are found exactly, distinct names are not mistaken for them")
    func manyNames() {
        let names = (0..<2_000).map { "\"T\($0)\":\($0)" }.joined(separator: ",")
        let ok = run(GW.neuron(), #"{"timestamp":1763884800123,"node":"n","group":"g","values":{"# + names + #","FT101":7}}"#)
        #expect(ok.outcome == DecodeOutcome(readings: 1, unknownTags: 2_000))
        let dup = run(GW.neuron(), #"{"timestamp":1763884800123,"node":"n","group":"g","values":{"# + names + #"},"errors":{"T1234":1}}"#)
        #expect(dup.error?.reason == .duplicateKey)
    }
}

// MARK: - json (mapped)

@Suite("json: any other gateway through a mapping")
struct MappedJSONFormatTests {
    @Test("readings array at a nested path; nested tag and quality paths; quality good-list")
    func nestedArray() {
        let payload = """
            {"site":"x","data":{"count":5,"points":[
              {"meta":{"tag":"FT101","unit":"m3/h"},"v":12.5,"ts":1763884800123,"q":{"code":192}},
              {"meta":{"tag":"FT102"},"v":true,"ts":1763884800124,"q":{"code":0}},
              {"meta":{"tag":"FT999"},"v":"text","ts":1763884800125},
              {"ts":1763884800126,"q":{"code":"good","text":"ok"},"v":13,"meta":{"tag":"FT101"}},
              {"meta":{"tag":"FT102"},"v":1,"ts":1763884800127},
              {"meta":{"tag":"FT102"},"v":2,"ts":1763884800128,"q":{"code":true}},
              {"meta":{"tag":"FT102"},"v":3,"ts":1763884800129,"q":"good"}
            ]},"more":[1,2]}
            """
        let d = run(GW.mapped(GW.nested), payload)
        #expect(d.outcome == DecodeOutcome(readings: 6, unknownTags: 1))
        #expect(d.appended == [
            GW.reading(1, .number(12.5), at: GW.ts),
            GW.reading(2, .bool(true), .bad, at: GW.ts + 1),
            GW.reading(1, .number(13), at: GW.ts + 3),
            GW.reading(2, .number(1), .bad, at: GW.ts + 4),  // quality absent: bad
            GW.reading(2, .number(2), at: GW.ts + 5),
            GW.reading(2, .number(3), .bad, at: GW.ts + 6),  // "q" is not an object: the code is absent
        ])
        #expect(GW.mapped(GW.nested).formatName == "json")
    }

    @Test("one reading per message, tagged by its topic, RFC 3339 time")
    func singleByTopic() {
        let format = GW.mapped(GW.single)
        let d = run(format, #"{"value":3.5,"time":"2025-11-23T16:00:00.123+08:00","extra":{"a":1}}"#, topic: "site/a/FT101")
        #expect(d.outcome == DecodeOutcome(readings: 1))
        #expect(d.appended == [GW.reading(4, .number(3.5))])
        let unknown = run(format, #"{"value":"x","time":"2025-11-23T08:00:00.123Z"}"#, topic: "site/a/OTHER")
        #expect(unknown.outcome == DecodeOutcome(readings: 0, unknownTags: 1))
    }

    @Test("the payload itself as the array; numeric and string tags; epoch seconds")
    func rootArray() {
        let d = run(GW.mapped(GW.rootArray), #"[{"id":17,"val":2,"t":1763884800.123},{"id":"17","val":false,"t":1763884800}]"#)
        #expect(d.appended == [GW.reading(3, .number(2)), GW.reading(3, .bool(false), at: 1_763_884_800_000)])
    }

    @Test("epoch seconds become exact milliseconds (sub-millisecond digits truncated)", arguments: [
        ("1763884800.123", GW.ts), ("1763884800.1239", GW.ts), ("1.763884800123e9", GW.ts), ("176388480012.3e-2", GW.ts),
        ("1763884800", 1_763_884_800_000), ("1763884800.5", 1_763_884_800_500), ("0", 0), ("0.0009", 0),
        ("1763884800.12399999999999999999999", GW.ts),
    ])
    func epochSeconds(_ text: String, _ ms: Int64) {
        let d = run(GW.mapped(GW.rootArray), #"[{"id":17,"val":1,"t":"# + text + "}]")
        #expect(d.appended == [GW.reading(3, .number(1), at: ms)])
    }

    @Test("epoch milliseconds, epoch seconds and RFC 3339 describe the same instant", arguments: [
        (JSONMapping.TimeFormat.epochMilliseconds, "1763884800123"),
        (.epochSeconds, "1763884800.123"),
        (.rfc3339, #""2025-11-23T08:00:00.123Z""#),
    ])
    func timeFormats(_ format: JSONMapping.TimeFormat, _ time: String) {
        let mapping = JSONMapping(tag: .field(["a", "b", "c"]), value: ["x", "y"], time: ["when"], timeFormat: format)
        let d = run(GW.mapped(mapping), #"{"a":{"b":{"c":"FT101"}},"x":{"y":7},"when":"# + time + "}")
        #expect(d.appended == [GW.reading(1, .number(7))])
    }

    static let rejects: [(JSONMapping, GatewayReject)] = [
        (GW.nested, GatewayReject(#"{"data":{}}"#, .missingField)),
        (GW.nested, GatewayReject(#"{"data":{"points":{}}}"#, .wrongType)),
        (GW.nested, GatewayReject(#"{"data":{"points":[]}}"#, .emptyBatch)),
        (GW.nested, GatewayReject(#"{"data":{"points":[1]}}"#, .wrongType)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"v":1,"ts":1763884800123}]}}"#, .missingField)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"ts":1763884800123}]}}"#, .missingField)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":1}]}}"#, .missingField)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":["FT101"]},"v":1,"ts":1763884800123}]}}"#, .wrongType)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":"1","ts":1763884800123}]}}"#, .wrongType)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":1,"ts":1.5}]}}"#, .badTimestamp)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":1,"ts":"1763884800123"}]}}"#, .wrongType)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":1,"ts":1763885101124}]}}"#, .futureTimestamp)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"X"},"v":NaN,"ts":1763884800123}]}}"#, .nonFinite)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"X"},"v":1e999,"ts":1763884800123}]}}"#, .nonFinite)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":1,"v":2,"ts":1763884800123}]}}"#, .duplicateKey)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101","tag":"FT102"},"v":1,"ts":1763884800123}]}}"#, .duplicateKey)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":1,"ts":1763884800123}]},"data":{}}"#, .duplicateKey)),
        (GW.nested, GatewayReject(#"{"data":{"points":[{"meta":{"tag":"FT101"},"v":1,"ts":1763884800123}]}"#, .malformedJSON)),
        (GW.nested, GatewayReject(#"[]"#, .wrongType)),
        (GW.nested, GatewayReject(deeplyNested(40), .tooDeep)),
        (GW.single, GatewayReject(#"{"value":1,"time":"2025-11-23 08:00"}"#, .badTimestamp)),
        (GW.single, GatewayReject(#"{"value":1,"time":"1969-12-31T23:59:59Z"}"#, .badTimestamp)),
        (GW.single, GatewayReject(#"{"value":1,"time":1763884800123}"#, .wrongType)),
        (GW.single, GatewayReject(#"{"value":1}"#, .missingField)),
        (GW.single, GatewayReject(#"{"time":"2025-11-23T08:00:00Z"}"#, .missingField)),
        (GW.single, GatewayReject(#"{"value":1,"time":"2025-11-23T08:00:00Z","time":"2025-11-23T08:00:00Z"}"#, .duplicateKey)),
        (GW.single, GatewayReject(#"{"value":1,"time":"2025-11-23T08:00:00Z"} {}"#, .malformedJSON)),
        (GW.single, GatewayReject(#"12.5"#, .wrongType)),
        (GW.rootArray, GatewayReject(#"[{"id":17,"val":1,"t":-1}]"#, .badTimestamp)),
        (GW.rootArray, GatewayReject(#"[{"id":17,"val":1,"t":1e30}]"#, .badTimestamp)),
        (GW.rootArray, GatewayReject(#"[{"id":17,"val":1,"t":"1763884800"}]"#, .wrongType)),
        (GW.rootArray, GatewayReject(#"{"id":17,"val":1,"t":1763884800}"#, .wrongType)),
        (GW.rootArray, GatewayReject(#"[]"#, .emptyBatch)),
    ]

    @Test("rejects with the specific reason and leaves the output untouched", arguments: 0..<rejects.count)
    func rejected(_ i: Int) {
        let (mapping, c) = Self.rejects[i]
        #expect(run(GW.mapped(mapping), c.payload, topic: "site/a/FT101").error?.reason == c.reason, "\(c.testDescription)")
    }

    @Test("every truncation is malformed_json")
    func truncated() {
        let payload = #"{"data":{"points":[{"meta":{"tag":"FT101"},"v":12.5,"ts":1763884800123,"q":{"code":192}}]}}"#
        let bytes = Array(payload.utf8)
        let format = GW.mapped(GW.nested)
        for n in 0..<bytes.count {
            #expect(run(format, Array(bytes[..<n])).error?.reason == .malformedJSON, "cut at \(n)")
        }
        #expect(run(format, payload).appended == [GW.reading(1, .number(12.5))])
    }

    @Test("a payload over the limit is oversize")
    func oversize() {
        #expect(run(GW.mapped(GW.single, maxPayloadBytes: 16), #"{"value":1,"time":"2025-11-23T08:00:00Z"}"#).error?.reason == .oversize)
    }

    @Test("a path longer than the depth limit cannot be followed past it")
    func deepPath() {
        let path = (0..<40).map { "k\($0)" }
        let mapping = JSONMapping(tag: .topic, value: path, time: ["t"])
        var payload = #"{"t":1763884800123,"#
        for k in path.dropLast() { payload += "\"\(k)\":{" }
        payload += "\"\(path.last!)\":1" + String(repeating: "}", count: path.count)
        #expect(run(GW.mapped(mapping), payload, topic: "site/a/FT101").error?.reason == .tooDeep)
    }
}

// MARK: - all three

@Suite("Hostile input against every JSON gateway format")
struct GatewayHostileInputTests {
    static func formats() -> [any GatewayFormat] {
        [GW.kepware(), GW.neuron(), GW.mapped(GW.nested), GW.mapped(GW.single), GW.mapped(GW.rootArray)]
    }

    @Test("64 KiB of brackets or braces is too_deep, without recursion")
    func brackets() {
        for format in Self.formats() {
            #expect(run(format, String(repeating: "[", count: 65_536)).error?.reason == .tooDeep)
            #expect(run(format, String(repeating: #"{"a":"#, count: 13_000)).error?.reason == .tooDeep)
        }
    }

    @Test("nothing but garbage is malformed_json", arguments: ["", " ", "nul", "{\"a\"", "\u{FEFF}{}", "{'a':1}"])
    func garbage(_ payload: String) {
        for format in Self.formats() {
            #expect(run(format, payload).error?.reason == .malformedJSON)
        }
    }
}
