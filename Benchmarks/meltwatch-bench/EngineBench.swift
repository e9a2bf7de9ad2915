#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import MeltWatchRules

// Engine throughput, measured on the load the issue asks for: a plant of ≥ 1,000 equipment with
// sensor health on every signal, readings at the pace a plant publishes them, and the daemon's
// 100 ms clock tick on the same time line. Only `Engine.process` is timed (thread CPU time); building
// the stream is not.

/// How the synthetic plant drives one template. Adding a template to the benchmark is one entry in
/// ``benchProfiles``: a healthy value per role and the value that pushes its main rule out of limits.
struct BenchProfile: Sendable {
    /// The template's catalog name.
    var template: String
    /// A healthy reading of `role` in round `n` (one round = every signal once). Numbers wobble a
    /// little as real sensors do, so frozen detection stays quiet; booleans hold.
    var healthy: @Sendable (_ role: String, _ n: Int) -> Value
    /// The role the template's main rule watches, and the value that drives that rule into alarm.
    var excursion: (role: String, value: Value)
}

/// A few hundredths of wobble, so no numeric signal stays unchanged for `frozen_after_s`.
private func wobble(_ n: Int) -> Double { Double(n % 4) * 0.05 }

/// One entry per template in `TemplateCatalog.all`; the benchmark refuses to run without it.
let benchProfiles: [BenchProfile] = [
    BenchProfile(
        template: "steel.water-cooled-element",
        healthy: { role, n in
            switch role {
            case "inlet_flow": .number(120 + wobble(n))
            case "outlet_flow": .number(119.5 + wobble(n))  // difference 0.5 m3/h, limit 3
            case "outlet_temp": .number(35 + wobble(n))
            case "inlet_temp": .number(25 + wobble(n))
            case "furnace_operating": .bool(true)
            default: .bool(false)  // interlock feedbacks at rest, no bypass
            }
        },
        excursion: ("outlet_flow", .number(110))  // flow-difference 10 m3/h: leak, trips the interlock check
    ),
    BenchProfile(
        template: "steel.co-detector",
        healthy: { role, n in role == "co" ? .number(5 + wobble(n)) : .bool(false) },
        excursion: ("co", .number(40))  // above level 1 (24 ppm, gb6222)
    ),
    BenchProfile(
        template: "steel.blast-furnace-top",
        healthy: { role, n in role == "top_pressure" ? .number(220 + wobble(n)) : .bool(false) },
        excursion: ("top_pressure", .number(270))  // above top_pressure_max 250: trips the bleeder check
    ),
    BenchProfile(
        template: "aluminium.dc-casting",
        healthy: { role, n in
            switch role {
            case "cooling_pressure": .number(350 + wobble(n))
            case "cooling_flow": .number(180 + wobble(n))
            case "level_outlet": .number(120 + wobble(n))
            case "level_junction": .number(100 + wobble(n))
            case "cast_length": .number(600 + Double(n))
            case "casting_active", "mode_auto", "mechanical_lock", "emergency_water_ok": .bool(true)
            default: .bool(false)  // interlock feedbacks at rest, no bypass
            }
        },
        excursion: ("cooling_flow", .number(60))  // below cooling_flow_min 100 while casting: trips
    ),
    BenchProfile(
        template: "dust.dry-collector",
        healthy: { role, n in
            switch role {
            case "diff_pressure": .number(900 + wobble(n))
            case "hopper_temp": .number(40 + wobble(n))
            case "fan_running", "process_running": .bool(true)
            default: .bool(false)  // no fault, no spark
            }
        },
        excursion: ("diff_pressure", .number(1800))  // above diff_pressure_high 1500: clogging
    ),
    BenchProfile(
        template: "dust.wet-collector",
        healthy: { role, n in
            switch role {
            case "water_level": .number(400 + wobble(n))
            case "water_flow": .number(120 + wobble(n))
            default: .bool(true)  // fan running
            }
        },
        excursion: ("water_flow", .number(20))  // below water_flow_min 50 with the fan on: running dry
    ),
]

/// A synthetic plant: `equipmentCount` equipment cycling through every catalog template (defaults),
/// every role a signal with health settings as the daemon sets them, all signals at 1 Hz.
struct BenchPlant {
    /// Event time of round 0.
    static let t0: Int64 = 1_763_884_800_000
    /// Each equipment spends `excursionRounds` of every `excursionPeriod` rounds in excursion,
    /// staggered by equipment so alarms raise and clear throughout the run.
    static let excursionPeriod = 200
    static let excursionRounds = 10

    let model: EngineModel
    /// Per signal: its role name, profile index and equipment index.
    let roleNames: [String]
    private let profileOf: [Int]
    let equipmentOf: [Int]
    /// Per template name: equipment count, for the setup line.
    let templateCounts: [(String, Int)]

    init(equipmentCount: Int) {
        var equipment: [EngineEquipment] = []
        var signals: [EngineSignal] = []
        var roleNames: [String] = []
        var profileOf: [Int] = []
        var equipmentOf: [Int] = []
        var counts = TemplateCatalog.all.map { ($0.name, 0) }
        let profiles = TemplateCatalog.all.map { t in
            guard let i = benchProfiles.firstIndex(where: { $0.template == t.name }) else {
                fatalError("meltwatch-bench: add a BenchProfile for template \(t.name) to benchProfiles")
            }
            return i
        }
        for e in 0..<equipmentCount {
            let k = e % TemplateCatalog.all.count
            let template = TemplateCatalog.all[k]
            counts[k].1 += 1
            var params: [String: ParamValue] = [:]
            for p in template.params { if let d = p.defaultValue { params[p.name] = d } }
            equipment.append(EngineEquipment(plant: "bench", id: "eq-\(e)", template: template, params: params))
            // As `Config.engineModel` sets it: stale 30 s, frozen 600 s, mandatory roles required.
            for (r, role) in template.roles.enumerated() {
                let health = HealthSettings(staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 600_000,
                                            range: nil, required: !role.isOptional)
                signals.append(EngineSignal(equipment: e, role: r, health: health))
                roleNames.append(role.name)
                profileOf.append(profiles[k])
                equipmentOf.append(e)
            }
        }
        model = EngineModel(equipment: equipment, signals: signals, configHash: "sha256:bench")
        self.roleNames = roleNames
        self.profileOf = profileOf
        self.equipmentOf = equipmentOf
        templateCounts = counts
    }

    var signalCount: Int { model.signals.count }

    /// Every signal once, in signal order, event times spread evenly over round `n`'s second, with a
    /// clock tick (daemon clock = gateway clock) at every 100 ms boundary the readings pass.
    func round(_ n: Int, nextTick: inout Int64, into inputs: inout [EngineInput]) {
        let start = Self.t0 + Int64(n) * 1000
        let count = roleNames.count
        for s in 0..<count {
            let time = start + Int64(s) * 1000 / Int64(count)
            while nextTick <= time {
                inputs.append(.tick(EventTime(milliseconds: nextTick)))
                nextTick += 100
            }
            let profile = benchProfiles[profileOf[s]]
            let role = roleNames[s]
            let inExcursion = (n + equipmentOf[s] * 37) % Self.excursionPeriod < Self.excursionRounds
            let value = inExcursion && role == profile.excursion.role ? profile.excursion.value : profile.healthy(role, n)
            inputs.append(.reading(Reading(signal: SignalID(Int32(s)), value: value, time: EventTime(milliseconds: time),
                                           sequence: Int64(n))))
        }
    }
}

/// `engine.plant`: readings/s through a plant of `equipmentCount` equipment (see ``BenchPlant``).
func runPlantEngineBenchmark(readings: Int, equipmentCount: Int, repetitions: Int = 5) -> [BenchResult] {
    let plant = BenchPlant(equipmentCount: equipmentCount)
    let rounds = max(1, readings / plant.signalCount)
    let templates = plant.templateCounts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
    var results: [BenchResult] = []
    var inputs: [EngineInput] = []
    inputs.reserveCapacity(plant.signalCount + 16)
    for _ in 0..<repetitions {
        let engine = Engine(model: plant.model)
        var events = 0
        var ticks = 0
        var seconds = 0.0
        var nextTick = BenchPlant.t0
        for n in 0..<rounds {
            inputs.removeAll(keepingCapacity: true)
            plant.round(n, nextTick: &nextTick, into: &inputs)
            let start = engineBenchClock()
            for input in inputs { engine.process(input) { _ in events += 1 } }
            seconds += engineBenchClock() - start
            ticks += inputs.count - plant.signalCount
        }
        precondition(events > 0, "the benchmark stream must raise and clear alarms")
        precondition(engine.counters.readings == rounds * plant.signalCount, "every reading must be evaluated")
        results.append(BenchResult(name: "engine.plant\(equipmentCount)", operations: rounds * plant.signalCount,
                                   seconds: seconds, unit: "readings"))
        if results.count == 1 {
            print("# engine.plant\(equipmentCount): \(equipmentCount) equipment (\(templates)), \(plant.signalCount) signals "
                + "with sensor health at 1 Hz, \(rounds) s of event time, a tick every 100 ms (\(ticks) ticks), \(events) alarm events")
        }
    }
    return results
}

/// `engine.small`: the original micro case, a water-cooled element and a CO detector (3 signals),
/// a tick every 100 readings and 1 ms between readings. Kept for comparison with earlier figures;
/// it does not model a plant (see `engine.plant…`).
func runSmallEngineBenchmark(readings: Int) -> [BenchResult] {
    let health = HealthSettings(staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 600_000, range: nil, required: true)
    let wce = TemplateCatalog.named("steel.water-cooled-element")!
    let co = TemplateCatalog.named("steel.co-detector")!
    var wceParams: [String: ParamValue] = [:]
    for p in wce.params { if let d = p.defaultValue { wceParams[p.name] = d } }
    var coParams: [String: ParamValue] = [:]
    for p in co.params { if let d = p.defaultValue { coParams[p.name] = d } }
    let model = EngineModel(
        equipment: [
            EngineEquipment(plant: "bench", id: "lance", template: wce, params: wceParams),
            EngineEquipment(plant: "bench", id: "co", template: co, params: coParams),
        ],
        signals: [EngineSignal(equipment: 0, role: 0, health: health), EngineSignal(equipment: 0, role: 1, health: health),
                  EngineSignal(equipment: 1, role: 0, health: health)],
        configHash: "sha256:bench"
    )
    var out: [BenchResult] = []
    for _ in 0..<5 {
        let engine = Engine(model: model)
        var events = 0
        let start = engineBenchClock()
        for i in 0..<readings {
            let t = EventTime(milliseconds: BenchPlant.t0 + Int64(i))
            let signal = SignalID(Int32(i % 3))
            // Mostly healthy values, with a leak and a CO excursion every 10 000 readings.
            let excursion = (i / 10_000) % 2 == 1
            let v: Double = signal.rawValue == 0 ? 120 : signal.rawValue == 1 ? (excursion ? 110 : 119.5) : (excursion ? 40 : 5)
            engine.process(.reading(Reading(signal: signal, value: .number(v), time: t))) { _ in events += 1 }
            if i % 100 == 0 { engine.process(.tick(t)) { _ in events += 1 } }
        }
        let seconds = engineBenchClock() - start
        precondition(events > 0, "the benchmark stream must raise alarms")
        out.append(BenchResult(name: "engine.small", operations: readings, seconds: seconds, unit: "readings"))
    }
    return out
}

/// The calling thread's CPU time: the engine runs on one thread, and on a shared VM wall time would
/// also count the time other processes held the core. Readings per CPU-second is single-core throughput.
func engineBenchClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
