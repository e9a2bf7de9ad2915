import MeltWatchCore

/// A scripted plant behaviour and the alarms a correct monitor must raise for it: a machine-checkable
/// specification. `meltwatch-sim` plays it; the integration tests check the daemon against it.
///
/// Adding a scenario: write a `static let` in the `Scenarios+<area>.swift` file of its template (or a
/// new one), build it from ``HealthyPlant`` values plus a ``fault``, state the rig settings it relies
/// on (``rig``), its expected alarms, and list it in ``all``. Every scenario is then run through the
/// rules engine directly (`MeltWatchScenariosTests`) and through the real daemon (integration tests).
public struct Scenario: Sendable {
    /// A phase announcement the simulator prints when scenario time passes `at`.
    public struct Phase: Sendable {
        public var at: Double
        public var text: String

        public init(_ at: Double, _ text: String) {
            self.at = at
            self.text = text
        }
    }

    public var name: String
    /// One line: what happens in the plant.
    public var summary: String
    /// Default length in scenario seconds.
    public var duration: Double
    public var phases: [Phase]
    /// The plant the expectations hold for.
    public var rig: Rig
    /// The alarm events a correct monitor produces, for a run at a given scan rate.
    public var expected: @Sendable (_ run: ScenarioRun) -> [ExpectedAlarm]
    /// Alarms accepted without being required (rare; each with its reason).
    public var tolerated: [ToleratedAlarm] = []
    /// The fault: edits an equipment's healthy scan at scenario time `t`.
    public var fault: @Sendable (_ equipment: FaultContext, _ t: SimTime, _ scan: inout Scan) -> Void
    /// What the fault edits: ``HealthyPlant``'s steady values, or the plant models' cycles.
    public var baseline: Baseline = .steady
    /// How the gateways publish unless the simulator is told otherwise.
    public var publish: PublishMode = .auto
    /// The hazard records it must open; nil: those its expected alarms open at once
    /// (``ExpectedHazard/immediate(from:)``).
    public var hazards: (@Sendable (_ run: ScenarioRun) -> [ExpectedHazard])?
    /// Scans per second end to end when the scenario is too long for the usual 10 (hours of plant).
    public var preferredRate: Double?

    /// Where a scenario's readings come from before its fault edits them.
    public enum Baseline: Sendable, Equatable {
        /// ``HealthyPlant``: steady values with a little noise, which pin every reading down.
        case steady
        /// ``PlantModels``: operating cycles, drift and noise; the units (`bof1`, `cast1`) at the
        /// given seconds into their cycles at scenario time 0, the others spread by a hash.
        case models(cycleStarts: [String: Double])
    }

    /// Creates a scenario; see the type's documentation.
    public init(name: String, summary: String, duration: Double, phases: [Phase], rig: Rig = .standard,
                baseline: Baseline = .steady, publish: PublishMode = .auto, tolerated: [ToleratedAlarm] = [],
                expected: @escaping @Sendable (_ run: ScenarioRun) -> [ExpectedAlarm],
                fault: @escaping @Sendable (_ equipment: FaultContext, _ t: SimTime, _ scan: inout Scan) -> Void) {
        self.name = name
        self.summary = summary
        self.duration = duration
        self.phases = phases
        self.rig = rig
        self.baseline = baseline
        self.publish = publish
        self.tolerated = tolerated
        self.expected = expected
        self.fault = fault
    }

    /// The expected alarms for a run at `rate` scans per second, in event-time order.
    public func expectedAlarms(rate: Double) -> [ExpectedAlarm] {
        let listed = expected(ScenarioRun(grid: ScanGrid(rate: rate), rig: rig))
        return listed.indices.sorted { a, b in
            let ta = listed[a].at?.milliseconds ?? .max, tb = listed[b].at?.milliseconds ?? .max
            return ta != tb ? ta < tb : a < b
        }.map { listed[$0] }
    }

    /// Every scenario, in listing order. New templates' scenarios are appended here.
    public static let all: [Scenario] = waterCooled + co + sensorHealth + blastFurnace + aluminium + dust + plants + commissioning + hazardScenarios

    /// The scenario of that name.
    public static func named(_ name: String) -> Scenario? { all.first { $0.name == name } }
}

/// What a fault needs to know about the equipment it acts on (from the config being simulated).
public struct FaultContext: Sendable {
    public var template: String
    public var equipment: String
    /// Numeric parameters with the template's defaults applied.
    public var params: [String: Double]
    /// When readings are published.
    public var grid: ScanGrid

    /// Creates a context.
    public init(template: String, equipment: String, params: [String: Double], grid: ScanGrid) {
        self.template = template
        self.equipment = equipment
        self.params = params
        self.grid = grid
    }

    /// The equipment's `on_delay_s` in seconds (0 when the template has none).
    public var onDelaySeconds: Double { params["on_delay_s"] ?? 0 }

    /// When the plant's interlock trips for a fault that starts at `faultStart`: the first scan showing
    /// it. The PLC sees the excursion itself, not MeltWatch's on-delay (which only spares the duty room
    /// nuisance alarms), so interlock feedbacks are scripted relative to this, and latency counts from it.
    public func trip(faultStart: Double) -> SimTime {
        grid.scan(atOrAfter: SimTime(seconds: faultStart))
    }
}

/// What expectations are computed for: the scan grid of the run and the rig's settings.
public struct ScenarioRun: Sendable {
    public var grid: ScanGrid
    public var rig: Rig

    /// The first scan at or after `seconds`: when a change scheduled then is first seen.
    public func seen(_ seconds: Double) -> SimTime { grid.scan(atOrAfter: SimTime(seconds: seconds)) }

    /// A numeric parameter of a rig equipment (rig value or template default).
    public func param(_ equipment: String, _ name: String) -> Double {
        guard let v = rig.equipment(equipment).number(name) else { preconditionFailure("\(equipment) has no numeric param \(name)") }
        return v
    }
}
