import MeltWatchCore
import MeltWatchDecode
import Testing

@testable import MeltWatchSparkplug

@Suite("Sparkplug host: seq gaps and rebirth requests")
struct SparkplugSequenceTests {
    private func ms(_ n: Int64) -> EventTime { SP.t0.adding(milliseconds: n) }
    private func voltage(_ seq: UInt64, _ v: Double) -> [UInt8] { SP.data(seq: seq, [SP.byAlias(1, .number(v))]) }

    @Test("a gap: readings are never held back; no command before the reorder timeout, one after")
    func gapTimesOut() {
        let host = HostFixture.born() // next seq 2
        let skipped = host.send(.nodeData, voltage(4, 4), at: ms(100))
        // Read at once, whatever the gap.
        #expect(skipped.values == [.number(4)])
        #expect(skipped.effects.commands.isEmpty)
        #expect(host.tickCommands(at: ms(100 + 1_999)).isEmpty)
        #expect(host.tickCommands(at: ms(100 + 2_000)) == [rebirthTopic()])
        // At most one per rebirth interval while the gap stays.
        #expect(host.tickCommands(at: ms(100 + 4_000)).isEmpty)
        #expect(host.tickCommands(at: ms(100 + 7_000)) == [rebirthTopic()])
        // The rebirth ends the gap.
        _ = host.send(.nodeBirth, SP.nodeBirth(bdSeq: 1), at: ms(8_000))
        #expect(host.tickCommands(at: ms(60_000)).isEmpty)
    }

    @Test("a gap filled within the reorder timeout asks for nothing")
    func gapFilledInTime() {
        let host = HostFixture.born()
        _ = host.send(.nodeData, voltage(4, 4), at: ms(100)) // 2 and 3 missing
        _ = host.send(.nodeData, voltage(2, 2), at: ms(200))
        #expect(host.tickCommands(at: ms(3_000)) == [rebirthTopic()]) // 3 is still missing
        let host2 = HostFixture.born()
        _ = host2.send(.nodeData, voltage(4, 4), at: ms(100))
        let late = host2.send(.nodeData, voltage(3, 3), at: ms(150))
        #expect(late.values == [.number(3)])
        _ = host2.send(.nodeData, voltage(2, 2), at: ms(200))
        _ = host2.send(.nodeData, voltage(5, 5), at: ms(300))
        #expect(host2.tickCommands(at: ms(10_000)).isEmpty)
    }

    @Test("seq wraps from 255 to 0 without a gap")
    func wrapAround() {
        let host = HostFixture.born()
        for seq in UInt64(2)...255 {
            #expect(host.send(.nodeData, voltage(seq, Double(seq))).readings.count == 1)
        }
        for seq in UInt64(0)...3 {
            #expect(host.send(.nodeData, voltage(seq, Double(seq))).values == [.number(Double(seq))])
        }
        #expect(host.tickCommands(at: ms(60_000)).isEmpty)
        #expect(host.nodes[SP.edge]?.session?.sequence.last == 3)
    }

    @Test("a repeated seq, a missing seq or one beyond 255 is a gap that only a rebirth clears")
    func disorder() {
        for payload in [voltage(1, 1), SP.wire(seq: nil, [SP.wireMetric(alias: 1, .doubleValue(1))]), voltage(256, 1)] {
            let host = HostFixture.born()
            #expect(host.send(.nodeData, payload, at: ms(10)).readings.count == 1)
            _ = host.send(.nodeData, voltage(2, 2), at: ms(20))
            #expect(host.tickCommands(at: ms(2_010)) == [rebirthTopic()])
        }
    }

    @Test("the NBIRTH seq starts the count (0, or whatever a non-conforming node sends)")
    func birthSeq() {
        let host = SP.host()
        _ = host.send(.nodeBirth, SparkplugPayloads.nodeBirth(timestamp: SP.t0, bdSeq: 0, metrics: [
            SparkplugMetric(name: "Supply Voltage", alias: 1, datatype: .double, value: .number(1)),
        ], seq: 17))
        _ = host.send(.nodeData, voltage(18, 2))
        #expect(host.tickCommands(at: ms(60_000)).isEmpty)
    }

    @Test("a gap is timed from its first message; DBIRTH and DDEATH count in seq")
    func birthsAndDeathsCount() {
        let host = SP.host()
        _ = host.send(.nodeBirth, SP.nodeBirth())
        _ = host.send(.deviceBirth, device: SP.device, SP.deviceBirth(seq: 1))
        _ = host.send(.deviceDeath, device: SP.device, SparkplugPayloads.deviceDeath(timestamp: SP.t0, seq: 2))
        _ = host.send(.deviceBirth, device: SP.device, SP.deviceBirth(seq: 3))
        _ = host.send(.nodeData, voltage(4, 4))
        #expect(host.tickCommands(at: ms(60_000)).isEmpty)
        _ = host.send(.nodeData, voltage(6, 6), at: ms(61_000))
        _ = host.send(.nodeData, voltage(7, 7), at: ms(62_000))
        #expect(host.tickCommands(at: ms(62_999)).isEmpty)
        #expect(host.tickCommands(at: ms(63_000)) == [rebirthTopic()])
    }

    @Test("a rebirth request from a tick counts against the interval of one from DATA")
    func sharedAllowance() {
        let host = HostFixture.born()
        _ = host.send(.nodeData, voltage(9, 9), at: ms(0))
        #expect(host.tickCommands(at: ms(2_000)) == [rebirthTopic()])
        let unknown = host.send(.nodeData, SP.data(seq: 10, [SP.byAlias(77, .number(1))]), at: ms(3_000))
        #expect(unknown.reason == .unknownAlias)
        #expect(unknown.effects.commands.isEmpty)
    }

    @Test("the sequence set tracks every number")
    func sequenceSet() {
        var s = SequenceSet()
        #expect(s.isEmpty)
        for n: UInt8 in [0, 63, 64, 127, 128, 200, 255] { s.insert(n) }
        #expect(s.members == [0, 63, 64, 127, 128, 200, 255])
        s.remove(64)
        #expect(!s.contains(64) && s.contains(63) && s.contains(255))
        for n in s.members { s.remove(n) }
        #expect(s.isEmpty)
    }
}
