import MeltWatchCore
import Testing

/// A wall clock and a monotonic clock the test moves by hand.
private final class Clocks: @unchecked Sendable {
    var wall: Int64 = 1_763_884_800_000
    var monotonic: Int64 = 5_000_000

    func advance(_ ms: Int64) {
        wall += ms
        monotonic += ms
    }

    func clock(notBefore: Int64? = nil) -> DaemonClock {
        DaemonClock(notBefore: notBefore, wall: { self.wall }, monotonic: { self.monotonic })
    }
}

@Suite("The daemon clock: wall-clock readings paced by the monotonic clock, rebased on a step")
struct DaemonClockTests {
    @Test("no step: it reads the wall clock and advances exactly with the monotonic clock")
    func steady() {
        let c = Clocks()
        var clock = c.clock()
        #expect(clock.read() == (c.wall, nil))
        c.advance(1234)
        #expect(clock.read() == (c.wall, nil))
    }

    @Test("NTP slewing (500 ppm for an hour: 1.8 s) is followed by steps of about a second, never by a jump of the timers")
    func slewing() {
        let c = Clocks()
        var clock = c.clock()
        var steps: [Int64] = []
        for _ in 0..<36_000 {  // an hour in 100 ms ticks, the wall clock 0.05 ms fast per tick
            c.monotonic += 100
            c.wall += 100
            if c.monotonic % 2000 == 0 { c.wall += 1 }
            if let s = clock.read().step { steps.append(s) }
        }
        #expect(steps == [1000])
    }

    @Test("a step of ±1 h is reported once, and the clock then reads the new wall time", arguments: [3_600_000, -3_600_000] as [Int64])
    func step(delta: Int64) {
        let c = Clocks()
        var clock = c.clock()
        c.advance(500)
        _ = clock.read()
        c.wall += delta
        c.advance(100)
        let r = clock.read()
        #expect(r.step == delta)
        #expect(r.now == c.wall)
        c.advance(100)
        #expect(clock.read() == (c.wall, nil))
    }

    @Test("started with the wall clock behind the journal's last time: the first reading reports the backward step")
    func notBefore() {
        let c = Clocks()
        var clock = c.clock(notBefore: c.wall + 3_600_000)
        let r = clock.read()
        #expect(r.step == -3_600_000)
        #expect(r.now == c.wall)
        var ahead = c.clock(notBefore: c.wall - 60_000)  // a journal from a minute ago: no step
        #expect(ahead.read() == (c.wall, nil))
    }
}

extension DaemonClockTests {
    @Test("peek never swallows a step: the next read still reports it")
    func peekKeepsTheStep() {
        let c = Clocks()
        var clock = c.clock()
        c.wall += 3_600_000
        c.advance(100)
        #expect(clock.peek() == c.wall - 3_600_000)
        #expect(clock.read().step == 3_600_000)
    }
}
