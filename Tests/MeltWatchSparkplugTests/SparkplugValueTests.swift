import Foundation
import MeltWatchCore
import MeltWatchDecode
import Testing

@testable import MeltWatchSparkplug

/// One metric value on the wire and what it must read as (nil: rejected as wrongType).
struct WireValue: Sendable, CustomTestStringConvertible {
    var datatype: SparkplugDataType
    var value: SparkplugBPayload.Metric.OneOf_Value?
    var expected: Value?
    var quality: Quality = .good
    var isNull = false

    var testDescription: String { "\(datatype) \(value.map { "\($0)" } ?? "nil")\(isNull ? " null" : "") → \(expected.map { "\($0)" } ?? "wrongType")" }
}

@Suite("Sparkplug host: metric datatypes")
struct SparkplugValueTests {
    static let cases: [WireValue] = [
        // Signed integers: two's complement, zero-extended or sign-extended to the field's width.
        WireValue(datatype: .int8, value: .intValue(0xFB), expected: .number(-5)),
        WireValue(datatype: .int8, value: .intValue(0xFFFF_FFFB), expected: .number(-5)),
        WireValue(datatype: .int8, value: .intValue(0x7F), expected: .number(127)),
        WireValue(datatype: .int8, value: .intValue(0x80), expected: .number(-128)),
        WireValue(datatype: .int8, value: .intValue(0x1FB), expected: nil),
        WireValue(datatype: .int8, value: .intValue(0xFFFF_FF7F), expected: nil), // -129
        WireValue(datatype: .int8, value: .longValue(0xFFFF_FFFF_FFFF_FFFB), expected: .number(-5)),
        WireValue(datatype: .int16, value: .intValue(0x8000), expected: .number(-32768)),
        WireValue(datatype: .int16, value: .intValue(0xFFFF_8000), expected: .number(-32768)),
        WireValue(datatype: .int16, value: .intValue(12345), expected: .number(12345)),
        WireValue(datatype: .int16, value: .intValue(0x1_0000), expected: nil),
        WireValue(datatype: .int32, value: .intValue(0xFFFF_FFFF), expected: .number(-1)),
        WireValue(datatype: .int32, value: .intValue(0x8000_0000), expected: .number(-2_147_483_648)),
        WireValue(datatype: .int32, value: .longValue(0xFFFF_FFFF_8000_0000), expected: .number(-2_147_483_648)),
        WireValue(datatype: .int32, value: .longValue(0x1_0000_0000), expected: nil),
        WireValue(datatype: .int64, value: .longValue(UInt64(bitPattern: -1_234_567_890_123)), expected: .number(-1_234_567_890_123)),
        WireValue(datatype: .int64, value: .longValue(0x8000_0000_0000_0000), expected: .number(-9_223_372_036_854_775_808)),
        WireValue(datatype: .int64, value: .intValue(5), expected: nil), // Int64 belongs in long_value
        // Unsigned integers.
        WireValue(datatype: .uint8, value: .intValue(255), expected: .number(255)),
        WireValue(datatype: .uint8, value: .intValue(256), expected: nil),
        WireValue(datatype: .uint16, value: .intValue(65535), expected: .number(65535)),
        WireValue(datatype: .uint16, value: .intValue(65536), expected: nil),
        WireValue(datatype: .uint32, value: .intValue(0xFFFF_FFFF), expected: .number(4_294_967_295)),
        WireValue(datatype: .uint32, value: .longValue(0xFFFF_FFFF), expected: .number(4_294_967_295)),
        WireValue(datatype: .uint32, value: .longValue(0x1_0000_0000), expected: nil),
        WireValue(datatype: .uint64, value: .longValue(UInt64.max), expected: .number(Double(UInt64.max))), // 2^64 after rounding
        WireValue(datatype: .uint64, value: .longValue(42), expected: .number(42)),
        // Floating point; a non-finite value is bad, with 0.
        WireValue(datatype: .float, value: .floatValue(12.5), expected: .number(12.5)),
        WireValue(datatype: .float, value: .floatValue(.infinity), expected: .number(0), quality: .bad),
        WireValue(datatype: .float, value: .doubleValue(12.5), expected: nil),
        WireValue(datatype: .double, value: .doubleValue(-0.125), expected: .number(-0.125)),
        WireValue(datatype: .double, value: .doubleValue(.nan), expected: .number(0), quality: .bad),
        WireValue(datatype: .double, value: .doubleValue(-.infinity), expected: .number(0), quality: .bad),
        WireValue(datatype: .double, value: .booleanValue(true), expected: nil),
        WireValue(datatype: .double, value: .floatValue(1), expected: nil),
        WireValue(datatype: .double, value: .intValue(1), expected: nil),
        WireValue(datatype: .double, value: nil, expected: nil), // no value and not null
        // Boolean and DateTime.
        WireValue(datatype: .boolean, value: .booleanValue(true), expected: .bool(true)),
        WireValue(datatype: .boolean, value: .booleanValue(false), expected: .bool(false)),
        WireValue(datatype: .boolean, value: .intValue(1), expected: nil),
        WireValue(datatype: .dateTime, value: .longValue(1_763_884_800_123), expected: .number(1_763_884_800_123)),
        WireValue(datatype: .dateTime, value: .intValue(5), expected: nil),
        // Null: bad, with a zero of the type's kind.
        WireValue(datatype: .double, value: nil, expected: .number(0), quality: .bad, isNull: true),
        WireValue(datatype: .int16, value: nil, expected: .number(0), quality: .bad, isNull: true),
        WireValue(datatype: .boolean, value: nil, expected: .bool(false), quality: .bad, isNull: true),
    ]

    @Test("every scalar datatype, in its birth and in DATA", arguments: cases)
    func scalar(_ c: WireValue) {
        let host = SP.host()
        let birth = SP.wire(seq: 0, [SP.wireMetric(name: "Supply Voltage", alias: 1, datatype: c.datatype, c.value, isNull: c.isNull)])
        let born = host.send(.nodeBirth, birth)
        let data = host.send(.nodeData, SP.wire(seq: 1, [SP.wireMetric(alias: 1, c.value, isNull: c.isNull)]))
        if let expected = c.expected {
            for sent in [born, data] {
                #expect(sent.readings == [Reading(signal: SP.voltage, value: expected, quality: c.quality, time: SP.t0)])
            }
        } else {
            #expect(born.reason == .wrongType)
            // The rejected birth left no session.
            #expect(data.reason == .noBirth)
        }
    }

    @Test("a wrong value field rejects the whole DATA message, its good metrics too")
    func wrongFieldRejectsMessage() {
        let host = HostFixture.born()
        let sent = host.send(.deviceData, device: SP.device, SP.wire(seq: 2, [
            SP.wireMetric(alias: 11, .doubleValue(7)),
            SP.wireMetric(alias: 12, .doubleValue(1)), // furnace_operating is Boolean
        ]))
        #expect(sent.reason == .wrongType)
        #expect(sent.effects.commands.isEmpty) // the datatype agrees: nothing a rebirth would fix
    }

    @Test("unsupported types are counted, bound or not, and never rejected for their value", arguments: [
        SparkplugDataType.string, .text, .uuid, .dataSet, .bytes, .file, .template, .propertySet, .int32Array, .dateTimeArray, .unknown,
    ])
    func unsupported(_ type: SparkplugDataType) {
        let host = SP.host()
        let birth = SP.wire(seq: 0, [
            SP.wireMetric(name: "Supply Voltage", alias: 1, datatype: type, .bytesValue(.init([1, 2, 3]))),
            SP.wireMetric(name: "other", alias: 2, datatype: type, .stringValue("x")),
        ])
        #expect(host.send(.nodeBirth, birth).outcome == DecodeOutcome(readings: 0, unsupportedMetrics: 2))
        let data = host.send(.nodeData, SP.wire(seq: 1, [SP.wireMetric(alias: 1, .stringValue("y")), SP.wireMetric(alias: 2, nil)]))
        #expect(data.outcome == DecodeOutcome(readings: 0, unsupportedMetrics: 2))
    }

    @Test("a datatype number beyond the specification's is unsupported")
    func unknownDatatypeNumber() {
        let host = SP.host()
        var m = SP.wireMetric(name: "Supply Voltage", alias: 1, .doubleValue(1))
        m.datatype = 4000
        #expect(host.send(.nodeBirth, SP.wire(seq: 0, [m])).outcome == DecodeOutcome(readings: 0, unsupportedMetrics: 1))
    }

    @Test("SparkplugPayloads writes what the host reads back", arguments: [
        (SparkplugDataType.int8, Value.number(-100)), (.int16, .number(-30000)), (.int32, .number(-2_000_000_000)),
        (.int64, .number(-9_000_000_000)), (.uint8, .number(200)), (.uint16, .number(60000)), (.uint32, .number(4_000_000_000)),
        (.uint64, .number(9_000_000_000)), (.float, .number(0.5)), (.double, .number(1e300)), (.boolean, .bool(true)),
        (.dateTime, .number(1_763_884_800_123)),
    ])
    func roundTrip(_ type: SparkplugDataType, _ value: Value) {
        let host = SP.host()
        let birth = SparkplugPayloads.nodeBirth(timestamp: SP.t0, bdSeq: 3, metrics: [
            SparkplugMetric(name: "Supply Voltage", alias: 1, datatype: type, value: value),
        ])
        #expect(host.send(.nodeBirth, birth).values == [value])
        #expect(host.send(.nodeData, SP.data(seq: 1, [SP.byAlias(1, value, datatype: type)])).values == [value])
        #expect(host.send(.nodeData, SP.data(seq: 2, [SP.byAlias(1, nil)])).readings.map(\.quality) == [.bad])
    }

    @Test("the payload builders clamp what a type cannot hold instead of trapping")
    func builderClamps() {
        let host = SP.host()
        let birth = SparkplugPayloads.nodeBirth(timestamp: SP.t0, bdSeq: 0, metrics: [
            SparkplugMetric(name: "Supply Voltage", alias: 1, datatype: .int8, value: .number(1e9)),
            SparkplugMetric(name: "b", alias: 2, datatype: .uint64, value: .number(-.infinity)),
            SparkplugMetric(name: "c", alias: 3, datatype: .int64, value: .number(.nan)),
        ])
        #expect(host.send(.nodeBirth, birth).values == [.number(127)])
    }
}
