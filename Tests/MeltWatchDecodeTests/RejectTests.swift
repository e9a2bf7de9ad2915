import MeltWatchCore
import Testing

@testable import MeltWatchDecode

/// A message that must be rejected, and the one counter reason it must be counted under.
struct RejectCase: Sendable, CustomTestStringConvertible {
    var payload: [UInt8]
    var reason: RejectReason
    var topic: String

    init(_ payload: String, _ reason: RejectReason, topic: String = Fixture.signalTopic) {
        self.init(bytes: Array(payload.utf8), reason, topic: topic)
    }

    init(bytes: [UInt8], _ reason: RejectReason, topic: String = Fixture.signalTopic) {
        self.payload = bytes
        self.reason = reason
        self.topic = topic
    }

    var testDescription: String {
        "\(reason.rawValue) ← \(String(decoding: payload.prefix(80), as: UTF8.self).debugDescription)"
    }
}

/// `{"ts":…,"v":1,"s":"<bytes>"}`: a string field holding raw bytes, for UTF-8 and control-character cases.
private func withStringBytes(_ bytes: [UInt8]) -> [UInt8] {
    Array(#"{"ts":1763884800123,"v":1,"s":""#.utf8) + bytes + Array(#""}"#.utf8)
}

private let batch = Fixture.equipmentTopic

@Suite("Messages that are rejected")
struct RejectTests {
    static let malformed: [RejectCase] = [
        RejectCase("", .malformedJSON),
        RejectCase("   \n", .malformedJSON),
        RejectCase("{", .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2}}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2} x"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2}{}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,,"v":2}"#, .malformedJSON),
        RejectCase(#"{,"ts":1763884800123,"v":2}"#, .malformedJSON),
        RejectCase(#"{ts:1763884800123,"v":2}"#, .malformedJSON),
        RejectCase(#"{'ts':1763884800123,"v":2}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123 "v":2}"#, .malformedJSON),
        RejectCase(#"{"ts" 1763884800123,"v":2}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2 /* comment */}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"abc}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"a\qb"}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"a\x41"}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"\u12"}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"\u12G4"}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"\ud800"}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"\ud800\u0041"}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"\udc00"}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":2,"s":"\"}"#, .malformedJSON),
        // Invalid UTF-8 inside strings: bad continuation, overlong, encoded surrogate, above U+10FFFF,
        // truncated sequence, lone continuation byte, invalid lead bytes.
        RejectCase(bytes: withStringBytes([0xC3, 0x28]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xC0, 0xAF]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xE0, 0x80, 0xAF]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xED, 0xA0, 0x80]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xF4, 0x90, 0x80, 0x80]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xF0, 0x80, 0x80, 0x80]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xE2, 0x82]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0x80]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xFF]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0xF8, 0x88, 0x80, 0x80, 0x80]), .malformedJSON),
        RejectCase(bytes: Array(#"{"ts":1763884800123,"v":2,"#.utf8) + [0xC3, 0xA9] + Array(#":1}"#.utf8), .malformedJSON),
        // Unescaped control characters in strings.
        RejectCase(bytes: withStringBytes([0x0A]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0x09]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0x00]), .malformedJSON),
        RejectCase(bytes: withStringBytes([0x1F]), .malformedJSON),
        RejectCase(bytes: Array(#"{"ts":1763884800123,"v":2}"#.utf8) + [0x00], .malformedJSON),
        RejectCase(bytes: [0xEF, 0xBB, 0xBF] + Array(#"{"ts":1763884800123,"v":2}"#.utf8), .malformedJSON),
        // Number grammar.
        RejectCase(#"{"ts":1763884800123,"v":01}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":-01}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":00}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":-}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":-a}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":--1}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":+1}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1.}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":.5}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1e}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1e+}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1.2.3}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":0x10}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":12abc}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":Infinite}"#, .malformedJSON),
        // Literals.
        RejectCase(#"{"ts":1763884800123,"v":tru}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":True}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":falsey}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"x":nul}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"x":undefined}"#, .malformedJSON),
        // Broken containers in ignored fields.
        RejectCase(#"{"ts":1763884800123,"v":1,"a":[1,2}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"a":[1,]}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"a":[,1]}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"a":{"x"}}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"a":{"x":1,}}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"a":{1:2}}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":1,"a":[1 2]}"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1,}}"#, .malformedJSON, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow" 1}}"#, .malformedJSON, topic: batch),
        RejectCase("[1,2", .malformedJSON),
        // A content error early does not hide that the message is cut short: truncation wins.
        RejectCase(#"{"v":"text","ts":true"#, .malformedJSON),
        RejectCase(#"{"ts":1763884800123,"v":NaN,"x":[}"#, .malformedJSON),
    ]

    static let content: [RejectCase] = [
        // Top level must be an object.
        RejectCase("[1,2]", .wrongType), RejectCase("42", .wrongType), RejectCase(#""text""#, .wrongType),
        RejectCase("null", .wrongType), RejectCase(" true ", .wrongType),
        // Duplicate keys, top level and in `values`, also when spelled with escapes or found via the sort path.
        RejectCase(#"{"ts":1763884800123,"ts":1763884800124,"v":1}"#, .duplicateKey),
        RejectCase(#"{"ts":1763884800123,"v":1,"v":2}"#, .duplicateKey),
        RejectCase(#"{"ts":1763884800123,"v":1,"q":"good","q":"good"}"#, .duplicateKey),
        RejectCase(#"{"ts":1763884800123,"v":1,"seq":1,"seq":2}"#, .duplicateKey),
        RejectCase(#"{"ts":1763884800123,"\u0074s":1763884800123,"v":1}"#, .duplicateKey),
        RejectCase(#"{"ts":1763884800123,"v":1,"x":1,"x":2}"#, .duplicateKey),
        RejectCase(#"{"ts":1763884800123,"v":1,"x":1,"\u0078":2}"#, .duplicateKey),
        RejectCase(#"{"ts":1763884800123,"v":1,"values":1,"values":2}"#, .duplicateKey),
        RejectCase("{\"ts\":1763884800123,\"v\":1," + (0..<50).map { "\"k\($0)\":0," }.joined() + "\"k17\":1}", .duplicateKey),
        RejectCase("{\"ts\":1763884800123,\"v\":1," + (0..<50).map { "\"k\($0)\":0," }.joined() + #""k\u0031\u0037":1}"#, .duplicateKey),
        RejectCase("{\"ts\":1763884800123,\"values\":{" + (0..<50).map { "\"u\($0)\":0," }.joined() + "\"u3\":1}}", .duplicateKey, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1,"inlet_flow":2}}"#, .duplicateKey, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1,"in\u006cet_flow":2}}"#, .duplicateKey, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"a":1,"inlet_flow":1,"a":2}}"#, .duplicateKey, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1},"values":{"outlet_flow":1}}"#, .duplicateKey, topic: batch),
        // Missing required fields.
        RejectCase(#"{"v":1}"#, .missingField), RejectCase(#"{"ts":1763884800123}"#, .missingField),
        RejectCase("{}", .missingField), RejectCase(#"{"ts":1763884800123,"value":1}"#, .missingField),
        RejectCase(#"{"ts":1763884800123}"#, .missingField, topic: batch),
        RejectCase(#"{"ts":1763884800123,"v":1}"#, .missingField, topic: batch),
        RejectCase(#"{"values":{"inlet_flow":1}}"#, .missingField, topic: batch),
        // Wrong types.
        RejectCase(#"{"ts":true,"v":1}"#, .wrongType), RejectCase(#"{"ts":null,"v":1}"#, .wrongType),
        RejectCase(#"{"ts":{},"v":1}"#, .wrongType), RejectCase(#"{"ts":[1763884800123],"v":1}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":"12.5"}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":null}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":{"x":1}}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":[1]}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":1,"q":1}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":1,"q":null}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":1,"seq":"1"}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"v":1,"seq":true}"#, .wrongType),
        RejectCase(#"{"ts":1763884800123,"values":[1]}"#, .wrongType, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":1}"#, .wrongType, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":"x"}"#, .wrongType, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":"1"}}"#, .wrongType, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1,"outlet_flow":null}}"#, .wrongType, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":{"v":1}}}"#, .wrongType, topic: batch),
        // An unknown role is tolerated, but its value must still be what the contract allows.
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1,"status":"running"}}"#, .wrongType, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1,"status":NaN}}"#, .nonFinite, topic: batch),
        // Non-finite numbers, as literals anywhere or by overflow in a value.
        RejectCase(#"{"ts":1763884800123,"v":NaN}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":-NaN}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":nan}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":Infinity}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":-Infinity}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":+inf}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":-inf }"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":1e999}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":-1e999}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":1.8e308}"#, .nonFinite),
        RejectCase("{\"ts\":1763884800123,\"v\":1" + String(repeating: "0", count: 400) + "}", .nonFinite),
        RejectCase(#"{"ts":1763884800123,"v":1,"x":[1,{"y":NaN}]}"#, .nonFinite),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":1,"outlet_flow":1e400}}"#, .nonFinite, topic: batch),
        RejectCase(#"{"ts":1763884800123,"values":{"inlet_flow":Infinity}}"#, .nonFinite, topic: batch),
        // Bad timestamps.
        RejectCase(#"{"ts":1763884800123.5,"v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":1763884800123.0,"v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":1.763884800123e12,"v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":-1,"v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":-0,"v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":99999999999999999999,"v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":9223372036854775808,"v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"1763884800123","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"yesterday","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-11-23","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-11-23T08:00:00","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-11-23T08:00Z","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-13-01T00:00:00Z","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-02-29T00:00:00Z","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-11-23T24:00:00Z","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-11-23T08:00:00.Z","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-11-23T08:00:00+0800","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"2025-11-23T08:00:00Z ","v":1}"#, .badTimestamp),
        RejectCase(#"{"ts":"1969-12-31T23:59:59Z","v":1}"#, .badTimestamp),
        // Future timestamps, beyond the 5-minute skew.
        RejectCase(#"{"ts":1763885101124,"v":1}"#, .futureTimestamp),
        RejectCase(#"{"ts":"2099-01-01T00:00:00Z","v":1}"#, .futureTimestamp),
        RejectCase(#"{"ts":9223372036854775807,"v":1}"#, .futureTimestamp),
        RejectCase(#"{"ts":1863884800123,"values":{"inlet_flow":1}}"#, .futureTimestamp, topic: batch),
        // Quality and sequence.
        RejectCase(#"{"ts":1763884800123,"v":1,"q":"GOOD"}"#, .badQuality),
        RejectCase(#"{"ts":1763884800123,"v":1,"q":"ok"}"#, .badQuality),
        RejectCase(#"{"ts":1763884800123,"v":1,"q":""}"#, .badQuality),
        RejectCase(#"{"ts":1763884800123,"v":1,"q":"good "}"#, .badQuality),
        RejectCase(#"{"ts":1763884800123,"v":1,"seq":-1}"#, .badSequence),
        RejectCase(#"{"ts":1763884800123,"v":1,"seq":1.5}"#, .badSequence),
        RejectCase(#"{"ts":1763884800123,"v":1,"seq":1e3}"#, .badSequence),
        RejectCase(#"{"ts":1763884800123,"v":1,"seq":9223372036854775808}"#, .badSequence),
        // Topics.
        RejectCase(#"{"ts":1763884800123,"v":1}"#, .unknownTopic, topic: "plants/p1/furnace2/inlet_flow"),
        RejectCase(#"{"ts":1763884800123,"v":1}"#, .unknownTopic, topic: "Plants/p1/furnace1/inlet_flow"),
        RejectCase(#"{"ts":1763884800123,"v":1}"#, .unknownTopic, topic: ""),
        RejectCase("not even json", .unknownTopic, topic: "plants/p1/#"),
        // Nesting beyond 32 levels, wherever it happens; never a stack overflow.
        RejectCase("{\"ts\":1763884800123,\"v\":1,\"x\":" + String(repeating: "[", count: 32) + String(repeating: "]", count: 32) + "}", .tooDeep),
        RejectCase("{\"ts\":1763884800123,\"v\":1,\"x\":" + String(repeating: "{\"a\":", count: 40) + "1" + String(repeating: "}", count: 40) + "}", .tooDeep),
        RejectCase("{\"ts\":1763884800123,\"v\":1,\"x\":" + String(repeating: "[", count: 60_000), .tooDeep),
        RejectCase(String(repeating: "[", count: 100) + String(repeating: "]", count: 100), .tooDeep),
        RejectCase("{\"ts\":1763884800123,\"values\":{\"a\":" + String(repeating: "[", count: 40) + "}}", .tooDeep, topic: batch),
        // Empty batches.
        RejectCase(#"{"ts":1763884800123,"values":{}}"#, .emptyBatch, topic: batch),
        RejectCase("{\"ts\":1763884800123,\"values\":{ \n }}", .emptyBatch, topic: batch),
    ]

    @Test("malformed JSON of every kind is counted as malformed_json", arguments: malformed)
    func rejectsMalformed(_ c: RejectCase) { check(c) }

    @Test("valid JSON with the wrong content is counted under its reason", arguments: content)
    func rejectsContent(_ c: RejectCase) { check(c) }

    private func check(_ c: RejectCase) {
        let d = decode(c.payload, topic: c.topic)
        #expect(d.error?.reason == c.reason, "got \(d.result)")
        // Atomic: the output holds exactly what it held before.
        #expect(d.out == [Fixture.sentinel])
        #expect(d.error?.detail.isEmpty == false)
    }

    @Test("an oversized payload is rejected before parsing, whatever it contains")
    func oversize() {
        let small = PayloadDecoder(topics: Fixture.table, maxPayloadBytes: 16)
        for payload in [#"{"ts":1763884800123,"v":1}"#, "garbage that is not JSON at all"] {
            let d = decode(payload, decoder: small)
            #expect(d.error?.reason == .oversize)
            #expect(d.out == [Fixture.sentinel])
        }
        let d = decode(Array(repeating: UInt8(ascii: " "), count: 65_537))
        #expect(d.error?.reason == .oversize)
    }

    @Test("nesting up to the limit is accepted; one more level is too deep")
    func depthBoundary() {
        // The top-level object is level 1, so 31 arrays reach exactly 32.
        let ok = "{\"ts\":1763884800123,\"v\":1,\"x\":" + String(repeating: "[", count: 31) + String(repeating: "]", count: 31) + "}"
        #expect(decode(ok).outcome == DecodeOutcome(readings: 1))
        let shallow = PayloadDecoder(topics: Fixture.table, maxNestingDepth: 3)
        #expect(decode(#"{"ts":1763884800123,"v":1,"x":[[]]}"#, decoder: shallow).outcome != nil)
        #expect(decode(#"{"ts":1763884800123,"v":1,"x":[[[]]]}"#, decoder: shallow).error?.reason == .tooDeep)
    }

    @Test("a batch rejected after some values were read leaves the output untouched")
    func batchIsAtomic() {
        let d = decode(#"{"ts":1763884800123,"values":{"inlet_flow":1,"outlet_flow":2,"furnace_operating":"on"}}"#,
                       topic: batch)
        #expect(d.error?.reason == .wrongType)
        #expect(d.out == [Fixture.sentinel])
    }

    @Test("details name the field and the byte offset")
    func detailNamesFieldAndOffset() throws {
        let payload = #"{"ts":1763884800123,"v":"12.5"}"#
        let error = try #require(decode(payload).error)
        #expect(error.detail == #"field "v" at byte 24: expected a number or boolean, found a string"#)
        let role = try #require(decode(#"{"ts":1763884800123,"values":{"inlet_flow":null}}"#, topic: batch).error)
        #expect(role.detail.contains(#"role "inlet_flow" at byte 30"#))
        let syntax = try #require(decode(#"{"ts":1763884800123,"v":1 x}"#).error)
        #expect(syntax.detail == "malformed JSON at byte 26: expected ',' or '}' after a member, found 'x'")
    }

    @Test("hostile bytes in a rejected key are escaped in the detail, never copied raw into a log line")
    func detailIsSanitised() throws {
        let error = try #require(decode(#"{"ts":1763884800123,"v":1,"q":"x\ny\u0000"}"#).error)
        #expect(error.reason == .badQuality)
        #expect(!error.detail.contains("\n"))
        #expect(error.detail.contains(#""x\u{a}y\u{0}""#))
    }

    @Test("every reject reason has a distinct snake_case label")
    func labels() {
        let labels = RejectReason.allCases.map(\.rawValue)
        #expect(Set(labels).count == labels.count)
        #expect(labels.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
        #expect(RejectReason.malformedJSON.rawValue == "malformed_json")
    }

    @Test("the future limit follows the configured skew, and the detail shows both clocks")
    func futureSkew() throws {
        let strict = PayloadDecoder(topics: Fixture.table, maxFutureSkewMilliseconds: 0)
        #expect(decode(#"{"ts":1763884801123,"v":1}"#, decoder: strict).outcome == DecodeOutcome(readings: 1))
        let error = try #require(decode(#"{"ts":1763884801124,"v":1}"#, decoder: strict).error)
        #expect(error.reason == .futureTimestamp)
        #expect(error.detail.contains("2025-11-23T08:00:01.124Z is 1 ms after the receiver's clock (2025-11-23T08:00:01.123Z)"))
    }

    @Test("missing fields are reported before a future timestamp")
    func missingBeforeFuture() {
        #expect(decode(#"{"ts":1863884800123}"#).error?.reason == .missingField)
    }
}
