import MeltWatchCore

/// A hazard record a scenario must open (domain.md "Hazards (隐患): from alarm to 销号"): on which
/// equipment, for which cause, of which class, found when. Part of the scenario's ground truth, checked
/// through the engine and end to end against the daemon's `meltwatch.hazard/1` events.
public struct ExpectedHazard: Sendable, Hashable, CustomStringConvertible {
    /// The alarm rule that witnesses it.
    public var rule: String
    /// The equipment's template (every equipment of it in the rig, unless ``equipment`` is set).
    public var template: String
    public var equipment: String?
    /// `major` or `general`.
    public var hazardClass: String
    /// 发现时间 in scenario time.
    public var foundAt: SimTime

    /// Creates an expectation.
    public init(_ rule: String, on template: String, equipment: String? = nil, hazardClass: String = "major", foundAt: SimTime) {
        self.rule = rule
        self.template = template
        self.equipment = equipment
        self.hazardClass = hazardClass
        self.foundAt = foundAt
    }

    /// The hazards a scenario's expected alarms open at once (domain.md's table: an interlock that
    /// did not act, a cast started with a faulty safety device, a wet collector running dry, an
    /// explosion protection fault, a setpoint off its approved value), one per equipment and cause,
    /// found when first raised. The hazards of durations (a bypass held past `bypass_min`, a signal
    /// unhealthy past `device_min`) and of repeats (`interlock-late` three times in 7 days) need
    /// minutes to weeks: a scenario that runs that long lists its own.
    public static func immediate(from alarms: [ExpectedAlarm]) -> [ExpectedHazard] {
        var seen: Set<String> = []
        var hazards: [ExpectedHazard] = []
        for a in alarms where a.event == .raised {
            let hazardClass: String
            switch a.rule {
            case "interlock-failed", "casting-permissive", "running-dry", "explosion-protection-fault": hazardClass = "major"
            case "setpoint-mismatch": hazardClass = "general"
            default: continue
            }
            let key = "\(a.template):\(a.equipment ?? "*"):\(a.rule):\(a.rule == "setpoint-mismatch" ? a.signal ?? "" : "")"
            guard let at = a.at, seen.insert(key).inserted else { continue }
            var h = ExpectedHazard(a.rule, on: a.template, hazardClass: hazardClass, foundAt: at)
            h.equipment = a.equipment
            hazards.append(h)
        }
        return hazards
    }

    /// `interlock-failed on steel.water-cooled-element (major) found t=65s`.
    public var description: String {
        "\(rule) on \(equipment ?? template) (\(hazardClass)) found \(foundAt)"
    }
}

/// A hazard record as observed (an `opened` event's `hazard`, or the desk's record), reduced to what
/// scenarios check.
public struct ObservedHazard: Sendable, Hashable, CustomStringConvertible {
    public var rule: String
    public var plant: String
    public var equipment: String
    public var hazardClass: String
    public var foundAt: Int64

    /// Creates an observation.
    public init(rule: String, plant: String, equipment: String, hazardClass: String, foundAt: Int64) {
        self.rule = rule
        self.plant = plant
        self.equipment = equipment
        self.hazardClass = hazardClass
        self.foundAt = foundAt
    }

    public var description: String { "\(rule) on \(plant)/\(equipment) (\(hazardClass)) found at epoch ms \(foundAt)" }
}

extension Scenario {
    /// The hazards this scenario must open, for a run at `rate` scans per second, in found order.
    public func expectedHazards(rate: Double) -> [ExpectedHazard] {
        let run = ScenarioRun(grid: ScanGrid(rate: rate), rig: rig)
        let listed = hazards?(run) ?? ExpectedHazard.immediate(from: expectedAlarms(rate: rate))
        return listed.sorted { $0.foundAt.milliseconds < $1.foundAt.milliseconds }
    }

    /// Which expected hazards were not observed, and which observed ones were not expected (plant
    /// renamed to the rig's by the caller); empty both when they agree to the millisecond.
    public func hazardVerdict(rate: Double, observed: [ObservedHazard], origin: Int64) -> (missing: [String], unexpected: [String]) {
        var left = observed
        var missing: [String] = []
        for e in expectedHazards(rate: rate) {
            for id in rig.equipment(of: e.template, only: e.equipment).map(\.id) {
                let at = origin + e.foundAt.milliseconds
                if let i = left.firstIndex(where: { $0.rule == e.rule && $0.equipment == id && $0.hazardClass == e.hazardClass && $0.foundAt == at }) {
                    left.remove(at: i)
                } else {
                    missing.append("\(e) (\(id))")
                }
            }
        }
        return (missing, left.map { "\($0) = t=\(SimTime(milliseconds: $0.foundAt - origin))" })
    }
}
