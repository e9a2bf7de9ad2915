#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MeltWatchCore

/// One equipment of a simulated plant as its process runs: operating cycles, measurement noise,
/// slow drift, and how often a gateway reports each tag.
///
/// The fault scenarios start from ``HealthyPlant``'s steady values, which pin every reading down;
/// the plant scenarios start from these models instead, which behave like the plant does over
/// hours: a converter blows and taps, an arc furnace melts and refines, a cast runs from pre-check
/// to its end, a bag filter clogs and is pulsed clean. Every healthy excursion stays inside the
/// template's default limits with a margin, so a model alone must cause no alarm (tested over whole
/// cycles, in every publish mode). The figures are typical of the equipment, not of one plant.
public protocol EquipmentModel: Sendable {
    /// The values at scenario time `t`; called once per scan with `t` increasing.
    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue]
    /// The phase of the process at `t`, for the simulator's log (`吹炼 blowing`).
    func phase(at t: SimTime) -> String
    /// How a gateway reports `role` when it publishes per tag.
    func reporting(of role: String) -> TagReporting
}

/// Report-by-exception, as gateways and OPC UA subscriptions do: a tag is published when it moved by
/// more than its deadband since it was last published, and at least every `period` seconds. Booleans
/// are published on every change.
public struct TagReporting: Sendable, Equatable {
    /// The longest time between two publications (seconds).
    public var period: Double
    /// A change larger than this is published at once (in the tag's unit).
    public var deadband: Double

    public init(period: Double, deadband: Double) {
        self.period = period
        self.deadband = deadband
    }

    /// Booleans: on change, refreshed every 10 s (well inside the 30 s default `stale_after_s`).
    public static let discrete = TagReporting(period: 10, deadband: 0)
}

/// Bounded noise and drift from the seeded generator (deterministic for a seed).
enum Random {
    /// Uniform in [0, 1).
    static func unit(_ rng: inout SplitMix64) -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    /// Approximately normal with standard deviation `sigma`, bounded to ±3.5 σ (the sum of four
    /// uniforms): a measurement's noise never reaches a limit by chance.
    static func noise(_ sigma: Double, _ rng: inout SplitMix64) -> Double {
        let s = unit(&rng) + unit(&rng) + unit(&rng) + unit(&rng) - 2
        return s * sigma * 3.0.squareRoot()
    }
}

/// A slow wander around zero (an Ornstein–Uhlenbeck process clamped to ±`limit`): meter drift, the
/// water header's pressure, the ambient temperature, a detector's baseline.
struct Drift: Sendable {
    /// Seconds for a displacement to decay to 1/e.
    let timeConstant: Double
    /// Steady-state standard deviation.
    let sigma: Double
    let limit: Double
    private(set) var value = 0.0
    private var last: SimTime?

    init(timeConstant: Double, sigma: Double, limit: Double) {
        self.timeConstant = timeConstant
        self.sigma = sigma
        self.limit = limit
    }

    mutating func advance(to t: SimTime, rng: inout SplitMix64) -> Double {
        defer { last = t }
        guard let last else { return value }
        let dt = max(0, (t - last).seconds)
        guard dt > 0 else { return value }
        let a = exp(-dt / timeConstant)
        value = value * a + Random.noise(sigma * (1 - a * a).squareRoot(), &rng)
        value = min(limit, max(-limit, value))
        return value
    }
}

/// A first-order lag: the way water temperature follows the heat load.
struct Lag: Sendable {
    let timeConstant: Double
    private(set) var value: Double
    private var last: SimTime?

    init(timeConstant: Double, initial: Double) {
        self.timeConstant = timeConstant
        value = initial
    }

    mutating func follow(_ target: Double, at t: SimTime) -> Double {
        defer { last = t }
        guard let last else {
            value = target
            return value
        }
        let dt = max(0, (t - last).seconds)
        value += (target - value) * (1 - exp(-dt / timeConstant))
        return value
    }
}

extension SimTime {
    static func - (a: SimTime, b: SimTime) -> SimTime { SimTime(milliseconds: a.milliseconds - b.milliseconds) }

    /// Seconds into a repeating period of `period` seconds, whose start is `offset` seconds before
    /// scenario time 0: in `0 ..< period`.
    func phase(period: Double, offset: Double = 0) -> Double {
        let x = (seconds + offset).truncatingRemainder(dividingBy: period)
        return x < 0 ? x + period : x
    }
}

/// A repeating sequence of process phases, each with its length in seconds; `offset` shifts where
/// scenario time 0 falls in the cycle.
struct Cycle<Step: Sendable>: Sendable {
    let steps: [(name: String, seconds: Double, step: Step)]
    let offset: Double

    var length: Double { steps.reduce(0) { $0 + $1.seconds } }

    /// The step at `t`, and how far into it (seconds).
    func at(_ t: SimTime) -> (name: String, step: Step, elapsed: Double, seconds: Double) {
        var x = t.phase(period: length, offset: offset)
        for s in steps {
            if x < s.seconds { return (s.name, s.step, x, s.seconds) }
            x -= s.seconds
        }
        let s = steps[steps.count - 1]
        return (s.name, s.step, s.seconds, s.seconds)
    }
}
