#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MeltWatchRules
import MeltWatchCore

/// The models of every template in domain.md, and which one an equipment of a config gets.
public enum PlantModels {
    /// The model for `equipment`. Elements and detectors of one furnace share its cycle: the unit is
    /// the id up to the first `-` (`bof1-lance`, `bof1-hood` → `bof1`). `cycleStarts` says where in
    /// its cycle a unit is at scenario time 0 (seconds); otherwise a stable hash of the unit spreads
    /// the plant's units over their cycles.
    public static func model(for equipment: SimEquipment, cycleStarts: [String: Double] = [:]) -> any EquipmentModel {
        let unit = String(equipment.id.split(separator: "-").first ?? Substring(equipment.id))
        func start(_ length: Double) -> Double { cycleStarts[unit] ?? Double(FNV1a.hash(unit) % UInt64(length)) }
        switch equipment.templateID {
        case .waterCooledElement:
            let kind = equipment.choices["furnace_type"] ?? "bof"
            let arc = kind == "eaf" || kind == "lf"
            let cycle = arc ? WaterCooledElementModel.arcFurnace : WaterCooledElementModel.converter
            return WaterCooledElementModel(element: .named(equipment.id), arc: arc,
                                           cycle: Cycle(steps: cycle, offset: start(Cycle(steps: cycle, offset: 0).length)))
        case .coDetector:
            let exposed = ["platform", "bof", "eaf", "converter", "furnace", "tap"].contains { equipment.id.contains($0) }
            return CODetectorModel(exposed: exposed)
        case .dcCasting:
            let tilting = equipment.choices["furnace"] == "tilting"
            return CastingStationModel(tilting: tilting, cycle: Cycle(steps: CastingStationModel.steps, offset: start(CastingStationModel.cycleLength)))
        case .dryCollector:
            return DryCollectorModel(cycle: Cycle(steps: DryCollectorModel.shift, offset: start(3600)), cleaningOffset: Double(FNV1a.hash(equipment.id) % 600))
        case .wetCollector:
            return WetCollectorModel(offset: Double(FNV1a.hash(equipment.id) % 460))
        case .blastFurnaceTop:
            return BlastFurnaceTopModel()
        }
    }
}

/// A template without a model: ``HealthyPlant``'s steady values.
struct SteadyModel: EquipmentModel {
    let template: TemplateID

    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        HealthyPlant.values(template: template, at: t, rng: &rng)
    }

    func phase(at t: SimTime) -> String { "steady" }
    func reporting(of role: String) -> TagReporting { TagReporting(period: 1, deadband: 0) }
}

/// A water-cooled element of a converter (BOF, AOD, RH, VOD) or an arc furnace (EAF, LF).
///
/// The cooling water runs all campaign long; what changes with the heat is the heat load, so the
/// outlet temperature follows the furnace's cycle through a 45 s lag (the water's transit and the
/// copper's mass). The flow meters see the same water: the inlet carries the header's slow
/// wander, the outlet reads it less a calibration offset that drifts and its own noise, so the
/// difference stays around 0.3–1.1 m3/h, far from a leak's several m3/h. The interlock feedbacks
/// follow the cycle: a converter's lance is down and tilting locked while it blows or splashes
/// slag; an arc furnace's power is on and the electrodes down while it melts and refines.
struct WaterCooledElementModel: EquipmentModel {
    struct Duty: Sendable {
        /// Heat load, 0…1.
        var heat: Double
        /// Converter: the lance is in the vessel (tilting locked). Arc furnace: the arc is on.
        var engaged: Bool
    }

    enum Element: Sendable {
        case lance, hood, roof, wall, other

        /// The element from its equipment id (`bof1-lance`, `eaf1-wall-3`).
        static func named(_ id: String) -> Element {
            if id.contains("lance") { return .lance }
            if id.contains("hood") || id.contains("skirt") { return .hood }
            if id.contains("roof") { return .roof }
            if id.contains("wall") || id.contains("panel") { return .wall }
            return .other
        }

        /// Nominal flow (m3/h) and the outlet's rise over the inlet at full heat (°C).
        var design: (flow: Double, rise: Double) {
            switch self {
            case .lance: (130, 11)
            case .hood: (420, 9)
            case .roof: (260, 8)
            case .wall: (180, 10)
            case .other: (150, 8)
            }
        }
    }

    /// A converter heat, tap to tap 36 min.
    static let converter: [(name: String, seconds: Double, step: Duty)] = [
        ("装料 charging", 300, Duty(heat: 0.15, engaged: false)),
        ("吹炼 blowing", 900, Duty(heat: 1.0, engaged: true)),
        ("测温取样 sampling", 180, Duty(heat: 0.35, engaged: false)),
        ("出钢 tapping", 360, Duty(heat: 0.3, engaged: false)),
        ("溅渣护炉 slag splashing", 240, Duty(heat: 0.55, engaged: true)),
        ("等待 turnaround", 180, Duty(heat: 0.1, engaged: false)),
    ]

    /// An arc furnace heat with two baskets, tap to tap 53 min.
    static let arcFurnace: [(name: String, seconds: Double, step: Duty)] = [
        ("装料 charging", 240, Duty(heat: 0.1, engaged: false)),
        ("熔化 melting", 1320, Duty(heat: 0.85, engaged: true)),
        ("二次装料 second basket", 180, Duty(heat: 0.2, engaged: false)),
        ("熔化 melting", 840, Duty(heat: 0.9, engaged: true)),
        ("精炼 refining", 360, Duty(heat: 1.0, engaged: true)),
        ("出钢 tapping", 240, Duty(heat: 0.2, engaged: false)),
    ]

    let element: Element
    let arc: Bool
    let cycle: Cycle<Duty>
    private var header = Drift(timeConstant: 600, sigma: 0.6, limit: 1.5)
    private var meterOffset = Drift(timeConstant: 1800, sigma: 0.15, limit: 0.4)
    private var ambient = Drift(timeConstant: 3600, sigma: 0.6, limit: 1.5)
    /// Arc flare on the walls and roof while the arc burns (a short-lived extra heat load).
    private var flare = Drift(timeConstant: 20, sigma: 0.07, limit: 0.15)
    private var rise = Lag(timeConstant: 45, initial: 2)

    init(element: Element, arc: Bool, cycle: Cycle<Duty>) {
        self.element = element
        self.arc = arc
        self.cycle = cycle
    }

    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        let now = cycle.at(t)
        let design = element.design
        let flow = design.flow + header.advance(to: t, rng: &rng) + Random.noise(0.002 * design.flow, &rng)
        let outlet = flow - (0.3 + meterOffset.advance(to: t, rng: &rng)) + Random.noise(0.12, &rng)
        let inletTemp = 26 + ambient.advance(to: t, rng: &rng)
        let flaring = arc && now.step.engaged ? flare.advance(to: t, rng: &rng) : 0
        let heated = rise.follow(2 + design.rise * now.step.heat * (1 + flaring), at: t)
        var v: [String: SimValue] = [
            "inlet_flow": .number(flow),
            "outlet_flow": .number(outlet),
            "inlet_temp": .number(inletTemp + Random.noise(0.1, &rng)),
            "outlet_temp": .number(inletTemp + heated + Random.noise(0.15, &rng)),
            "furnace_operating": .bool(true),
            "interlock_bypassed": .bool(false),
        ]
        if arc {
            v["power_off"] = .bool(!now.step.engaged)
            v["electrodes_raised"] = .bool(!now.step.engaged)
        } else {
            v["tilt_locked"] = .bool(now.step.engaged)
            v["lance_raised"] = .bool(!now.step.engaged)
        }
        return v
    }

    func phase(at t: SimTime) -> String { cycle.at(t).name }

    func reporting(of role: String) -> TagReporting {
        switch role {
        case "inlet_flow", "outlet_flow": TagReporting(period: 1, deadband: 0.5)
        case "inlet_temp", "outlet_temp": TagReporting(period: 2, deadband: 0.3)
        default: .discrete
        }
    }
}

/// A fixed CO detector. Near a converter or a tapping floor its baseline wanders (electrochemical
/// cells drift) and it sees small puffs of furnace gas, each a few ppm that disperse within a minute,
/// never near the first alarm level. Away from them (a control room) it stands in clean air and reads
/// a flat 0 ppm for days, as real detectors do once their zero suppression hides the cell's offset:
/// its normal state, which must raise nothing (no `frozen`).
struct CODetectorModel: EquipmentModel {
    let exposed: Bool
    private var baseline = Drift(timeConstant: 1800, sigma: 0.6, limit: 1.5)
    private var puff = 0.0
    private var last: SimTime?

    init(exposed: Bool) { self.exposed = exposed }

    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        let dt = last.map { (t - $0).seconds } ?? 0
        last = t
        if exposed, dt > 0 {
            puff *= exp(-dt / 40)
            // On average one puff every four minutes.
            if Random.unit(&rng) < dt / 240 { puff = min(8, puff + 2 + 4 * Random.unit(&rng)) }
        }
        let co = 2.0 + baseline.advance(to: t, rng: &rng) + puff + Random.noise(0.25, &rng)
        // Clean air: below the zero suppression band (the draws above keep the noise sequence of the
        // other equipment as it was).
        return ["co": .number(exposed ? max(0, co) : 0), "fault": .bool(false)]
    }

    func phase(at t: SimTime) -> String { exposed ? "background with gas puffs" : "clean air, 0 ppm" }

    func reporting(of role: String) -> TagReporting {
        role == "co" ? TagReporting(period: 2, deadband: 0.5) : .discrete
    }
}

/// A deep-well casting station through its whole cycle, 48 min: pre-check (mould water on, the
/// shut-off closed, the platform at rest), start (the shut-off opens or the tilting furnace tilts
/// forward, metal fills the launders, the platform starts and ramps to 75 mm/min), steady casting,
/// end (casting ends first, so the level rules are gated before the launders drain; the furnace
/// tilts back or the shut-off closes, the platform runs on a minute and stops), unloading.
struct CastingStationModel: EquipmentModel {
    enum Step: Sendable { case precheck, start, steady, end, unload }

    static let steps: [(name: String, seconds: Double, step: Step)] = [
        ("预检 pre-check", 240, .precheck),
        ("开浇 start", 180, .start),
        ("稳定浇铸 casting", 2100, .steady),
        ("收尾 end of cast", 180, .end),
        ("出锭 unloading", 180, .unload),
    ]
    static let cycleLength = Cycle(steps: steps, offset: 0).length
    /// Platform speed in steady casting, mm/s (75 mm/min).
    static let speed = 1.25

    let tilting: Bool
    let cycle: Cycle<Step>
    private var header = Drift(timeConstant: 900, sigma: 2, limit: 5)
    private var pressureDrift = Drift(timeConstant: 900, sigma: 5, limit: 12)
    private var outletHead = Drift(timeConstant: 300, sigma: 2.5, limit: 6)
    private var junctionHead = Drift(timeConstant: 300, sigma: 2.5, limit: 6)

    init(tilting: Bool, cycle: Cycle<Step>) {
        self.tilting = tilting
        self.cycle = cycle
    }

    /// Cast length `tau` seconds after casting began: the platform starts at 20 s, ramps to full
    /// speed over 120 s, and stops 60 s into the end of the cast.
    static func castLength(sinceStart tau: Double) -> Double {
        let stop = 180 + 2100 + 60.0
        let x = min(tau, stop)
        if x < 20 { return 0 }
        if x < 140 { return speed * (x - 20) * (x - 20) / 240 }
        return speed * 60 + speed * (x - 140)
    }

    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        let now = cycle.at(t)
        let x = now.elapsed
        let flowWander = header.advance(to: t, rng: &rng), pressureWander = pressureDrift.advance(to: t, rng: &rng)
        let outletWander = outletHead.advance(to: t, rng: &rng), junctionWander = junctionHead.advance(to: t, rng: &rng)
        var casting = false, shutoffClosed = true, tiltedBack = true, platformStopped = true
        var fill = 0.0  // launder metal, 0…1
        var water = 1.0  // mould water, share of full flow
        var length = 0.0
        switch now.step {
        case .precheck:
            water = 0.25 + 0.75 * min(1, x / 60)
        case .start:
            casting = true
            shutoffClosed = x < 2
            tiltedBack = false
            fill = min(1, max(0, (x - 2) / 60))
            platformStopped = x < 20
            length = Self.castLength(sinceStart: x)
        case .steady:
            casting = true
            (shutoffClosed, tiltedBack, platformStopped, fill) = (false, false, false, 1)
            length = Self.castLength(sinceStart: 180 + x)
        case .end:
            shutoffClosed = x >= 3
            fill = x < 3 ? 1 : exp(-(x - 3) / 15)
            platformStopped = x >= 60
            water = x < 120 ? 1 : 0.35
            length = Self.castLength(sinceStart: 2280 + x)
        case .unload:
            water = 0.25
            length = Self.castLength(sinceStart: 2280 + 180)
        }
        var v: [String: SimValue] = [
            "cooling_pressure": .number((120 + 230 * water) + pressureWander * water + Random.noise(1.5, &rng)),
            "cooling_flow": .number(180 * water + flowWander * water + Random.noise(0.6, &rng)),
            "level_outlet": .number(max(0, (120 + outletWander) * fill + Random.noise(0.6, &rng))),
            "level_junction": .number(max(0, (100 + junctionWander) * fill + Random.noise(0.6, &rng))),
            "casting_active": .bool(casting),
            "cast_length": .number(length),
            "mode_auto": .bool(true),
            "shutoff_closed": .bool(shutoffClosed),
            "launder_disconnected": .bool(false),
            "platform_stopped": .bool(platformStopped),
            "interlock_bypassed": .bool(false),
            "emergency_water_ok": .bool(true),
        ]
        if tilting {
            v["furnace_tilted_back"] = .bool(tiltedBack)
        } else {
            v["drain_open"] = .bool(false)
            v["mechanical_lock"] = .bool(true)
        }
        return v
    }

    func phase(at t: SimTime) -> String { cycle.at(t).name }

    func reporting(of role: String) -> TagReporting {
        switch role {
        case "level_outlet", "level_junction": TagReporting(period: 0.5, deadband: 0.5)
        case "cooling_pressure": TagReporting(period: 1, deadband: 5)
        case "cooling_flow": TagReporting(period: 1, deadband: 2)
        case "cast_length": TagReporting(period: 1, deadband: 5)
        default: .discrete
        }
    }
}

/// A bag filter: the differential pressure climbs as the bags load and drops when a pulse-jet
/// cleaning round runs (every 10 min); the hopper warms with the process and cools in the break.
/// The fan runs through the shift; the process stops for a 5-minute break each hour.
struct DryCollectorModel: EquipmentModel {
    static let shift: [(name: String, seconds: Double, step: Bool)] = [
        ("生产 production", 3300, true),
        ("工间休息 break", 300, false),
    ]

    let cycle: Cycle<Bool>
    let cleaningOffset: Double
    private var dpDrift = Drift(timeConstant: 1200, sigma: 12, limit: 30)
    private var ambient = Drift(timeConstant: 3600, sigma: 1, limit: 2.5)
    private var warmth = Lag(timeConstant: 600, initial: 5)

    init(cycle: Cycle<Bool>, cleaningOffset: Double) {
        self.cycle = cycle
        self.cleaningOffset = cleaningOffset
    }

    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        let running = cycle.at(t).step
        let x = t.phase(period: 600, offset: cleaningOffset)
        let loading = x < 570 ? x / 570 : 1 - (x - 570) / 30
        let dp = 850 + 400 * loading + dpDrift.advance(to: t, rng: &rng) + Random.noise(6, &rng)
        let hopper = 35 + ambient.advance(to: t, rng: &rng) + warmth.follow(running ? 5 : 0, at: t) + Random.noise(0.15, &rng)
        return [
            "diff_pressure": .number(dp),
            "hopper_temp": .number(hopper),
            "airlock_fault": .bool(false),
            "spark_detected": .bool(false),
            "explosion_protection_fault": .bool(false),
            "fan_running": .bool(true),
            "process_running": .bool(running),
        ]
    }

    func phase(at t: SimTime) -> String { cycle.at(t).name }

    func reporting(of role: String) -> TagReporting {
        switch role {
        case "diff_pressure": TagReporting(period: 5, deadband: 20)
        case "hopper_temp": TagReporting(period: 5, deadband: 0.5)
        default: .discrete
        }
    }
}

/// A wet scrubber: the sump level falls with evaporation and blow-down and the make-up valve
/// refills it every 7½ minutes; the circulation pump's flow wanders a little.
struct WetCollectorModel: EquipmentModel {
    let offset: Double
    private var flowDrift = Drift(timeConstant: 900, sigma: 3, limit: 8)

    init(offset: Double) { self.offset = offset }

    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        let x = t.phase(period: 460, offset: offset)
        let level = x < 400 ? 420 - 40 * x / 400 : 380 + 40 * (x - 400) / 60
        return [
            "water_level": .number(level + Random.noise(0.8, &rng)),
            "water_flow": .number(120 + flowDrift.advance(to: t, rng: &rng) + Random.noise(1, &rng)),
            "fan_running": .bool(true),
        ]
    }

    func phase(at t: SimTime) -> String { "running" }

    func reporting(of role: String) -> TagReporting {
        switch role {
        case "water_level": TagReporting(period: 2, deadband: 2)
        case "water_flow": TagReporting(period: 1, deadband: 3)
        default: .discrete
        }
    }
}

/// A blast furnace top: the working pressure wanders with the blast and pulses a little as the
/// burden descends, well under the design maximum.
struct BlastFurnaceTopModel: EquipmentModel {
    private var wander = Drift(timeConstant: 600, sigma: 3, limit: 7)

    mutating func values(at t: SimTime, rng: inout SplitMix64) -> [String: SimValue] {
        let x = t.phase(period: 90)
        let burden = 2 * (x / 45 - 1)
        return [
            "top_pressure": .number(225 + wander.advance(to: t, rng: &rng) + burden + Random.noise(1, &rng)),
            "bleeder_open": .bool(false),
        ]
    }

    func phase(at t: SimTime) -> String { "blowing" }

    func reporting(of role: String) -> TagReporting {
        role == "top_pressure" ? TagReporting(period: 1, deadband: 2) : .discrete
    }
}
