import MeltWatchCore
import MeltWatchHazards

@testable import MeltWatchReport

/// A realistic hour of a combined works (16:00–17:00 China time): a casting station whose mould
/// cooling flow drops and whose platform does not stop (interlock failed, local-notice basis), a BOF
/// lance leaking twice (one ok and one late interlock), a CO alarm acknowledged by 张三, and a
/// pressure transmitter that goes stale and stays so.
enum Fixture {
    static let plantID = "demo-works"
    static let plantName = "华东示范冶金 炼钢及铝深井铸造车间"
    static let configHash = "sha256:9c1f0b6e2d7a4c3b8e5f1a0d9c2b7e6f4a3d8c1b0e9f2a7d6c5b4e3f2a1d0c9b"

    /// Local (UTC+8) wall-clock time on 2026-11-23.
    static func at(_ clock: String) -> EventTime { EventTime(parsing: "2026-11-23T\(clock)+08:00")! }

    static let from = at("16:00:00")
    static let to = at("17:00:00")

    static func event(
        _ kind: AlarmEvent.Kind, _ state: AlarmEvent.State, _ equipment: String, _ rule: String,
        _ cls: AlarmEvent.AlarmClass, _ priority: AlarmEvent.Priority, n: Int = 1, k: Int, at clock: String,
        signals: [String], value: Double? = nil, limit: Double? = nil, unit: String? = nil,
        latency: Int64? = nil, cause: String? = nil, basis: String, message: String,
        operator: String? = nil, note: String? = nil, plant: String = plantID
    ) -> AlarmEvent {
        AlarmEvent(kind: kind, state: state, alarmClass: cls, rule: rule, priority: priority, plant: plant,
                   equipment: equipment, activation: n, ordinal: k, signals: signals, value: value, limit: limit,
                   unit: unit, latencyMilliseconds: latency, cause: cause, basis: basis, message: message,
                   eventTime: at(clock), configHash: configHash, operator: `operator`, note: note)
    }

    static let castingBasis = "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"
    static let platformCause = "platform_stopped 未动作 (no feedback by deadline 5 s)"
    static let coolingMessage = "铸造中结晶器冷却水流量 82.5 m3/h < 最小值 100 m3/h (mould cooling water flow low while casting)"
    static let castingFeedbacks = ["shutoff_closed", "drain_open", "platform_stopped"]
    static let lanceFeedbacks = ["tilt_locked", "lance_raised"]

    static var events: [AlarmEvent] {
        let flows = ["inlet_flow", "outlet_flow"]
        let leak = "令10 第四条(四)"
        return [
            // Casting station: cooling flow low, interlock failed (platform did not stop).
            event(.raised, .activeUnacked, "dc1-station", "cooling-flow-low", .process, .emergency, k: 1, at: "16:00:02",
                  signals: ["cooling_flow"], value: 82.5, limit: 100, unit: "m3/h", basis: "令10 第五条(六)", message: coolingMessage),
            event(.raised, .activeUnacked, "dc1-station", "interlock-failed", .interlock, .emergency, k: 1, at: "16:00:07",
                  signals: castingFeedbacks, limit: 5, unit: "s", cause: platformCause, basis: castingBasis,
                  message: "联锁未在 5 s 内动作：\(platformCause) (interlock failed)"),
            event(.acknowledged, .activeAcked, "dc1-station", "cooling-flow-low", .process, .emergency, k: 2, at: "16:01:10",
                  signals: ["cooling_flow"], value: 82.5, limit: 100, unit: "m3/h", basis: "令10 第五条(六)", message: coolingMessage,
                  operator: "李四", note: "已通知铸造班长，检查冷却水泵"),
            event(.acknowledged, .normal, "dc1-station", "interlock-failed", .interlock, .emergency, k: 2, at: "16:02:00",
                  signals: castingFeedbacks, limit: 5, unit: "s", cause: platformCause, basis: castingBasis,
                  message: "联锁未在 5 s 内动作：\(platformCause) (interlock failed)", operator: "李四", note: "平台已手动停止，联锁回路待检修"),
            event(.cleared, .normal, "dc1-station", "cooling-flow-low", .process, .emergency, k: 3, at: "16:04:30",
                  signals: ["cooling_flow"], value: 121.3, limit: 100, unit: "m3/h", basis: "令10 第五条(六)",
                  message: "结晶器冷却水流量 121.3 m3/h，已恢复 (back to normal)"),
            // BOF lance: a leak with an ok interlock…
            event(.raised, .activeUnacked, "bof1-lance", "flow-difference", .process, .emergency, k: 1, at: "16:10:02",
                  signals: flows, value: 4.1, limit: 3.0, unit: "m3/h", basis: leak,
                  message: "进出水流量差 4.1 m3/h > 3.0 m3/h (water may be leaking into the furnace)"),
            event(.acknowledged, .activeAcked, "bof1-lance", "flow-difference", .process, .emergency, k: 2, at: "16:10:40",
                  signals: flows, value: 4.1, limit: 3.0, unit: "m3/h", basis: leak,
                  message: "进出水流量差 4.1 m3/h > 3.0 m3/h (water may be leaking into the furnace)", operator: "王五"),
            event(.cleared, .normal, "bof1-lance", "flow-difference", .process, .emergency, k: 3, at: "16:12:00",
                  signals: flows, value: 0.4, limit: 3.0, unit: "m3/h", basis: leak, message: "进出水流量差 0.4 m3/h，已恢复"),
            // CO at the converter platform, acknowledged by 张三.
            event(.raised, .activeUnacked, "co-bof1-platform", "co-level-1", .process, .high, k: 1, at: "16:20:00",
                  signals: ["co"], value: 31, limit: 24, unit: "ppm", basis: "令10 第四条(六)",
                  message: "一氧化碳浓度 31 ppm ≥ 一级报警 24 ppm (GB 6222)"),
            event(.acknowledged, .activeAcked, "co-bof1-platform", "co-level-1", .process, .high, k: 2, at: "16:20:45",
                  signals: ["co"], value: 31, limit: 24, unit: "ppm", basis: "令10 第四条(六)",
                  message: "一氧化碳浓度 31 ppm ≥ 一级报警 24 ppm (GB 6222)", operator: "张三",
                  note: "已通知现场巡检，佩戴便携式报警仪"),
            event(.cleared, .normal, "co-bof1-platform", "co-level-1", .process, .high, k: 3, at: "16:26:00",
                  signals: ["co"], value: 21.5, limit: 24, unit: "ppm", basis: "令10 第四条(六)",
                  message: "一氧化碳浓度 21.5 ppm 回落至一级报警 24 ppm 以下，已恢复 (GB 6222)"),
            // …and a second leak whose interlock was late.
            event(.raised, .activeUnacked, "bof1-lance", "flow-difference", .process, .emergency, n: 2, k: 1, at: "16:30:05",
                  signals: flows, value: 3.6, limit: 3.0, unit: "m3/h", basis: leak,
                  message: "进出水流量差 3.6 m3/h > 3.0 m3/h (water may be leaking into the furnace)"),
            event(.raised, .activeUnacked, "bof1-lance", "interlock-late", .interlock, .high, k: 1, at: "16:30:07.600",
                  signals: lanceFeedbacks, value: 2.6, limit: 2, unit: "s", latency: 2600, basis: leak,
                  message: "联锁动作延迟 2.6 s > 2 s（tilt_locked, lance_raised）(interlock late)"),
            event(.cleared, .rtnUnacked, "bof1-lance", "interlock-late", .interlock, .high, k: 2, at: "16:30:07.600",
                  signals: lanceFeedbacks, value: 2.6, limit: 2, unit: "s", latency: 2600, basis: leak,
                  message: "联锁动作延迟 2.6 s > 2 s（tilt_locked, lance_raised）(interlock late)"),
            event(.cleared, .rtnUnacked, "bof1-lance", "flow-difference", .process, .emergency, n: 2, k: 2, at: "16:31:00",
                  signals: flows, value: 0.5, limit: 3.0, unit: "m3/h", basis: leak, message: "进出水流量差 0.5 m3/h，已恢复"),
            // The casting station's pressure transmitter goes silent.
            event(.raised, .activeUnacked, "dc1-station", "stale", .device, .high, k: 1, at: "16:40:00",
                  signals: ["cooling_pressure"], value: 162, unit: "kPa", basis: "令10 第十四条",
                  message: "cooling_pressure 信号中断 (stale)：no reading for 30 s"),
            // A heartbeat belongs to no alarm, and another plant's alarm is not in this report.
            event(.heartbeat, .normal, "", "heartbeat", .system, .low, k: 1, at: "16:45:00", signals: [],
                  basis: "", message: ""),
            event(.raised, .activeUnacked, "bof2-hood", "flow-difference", .process, .emergency, k: 1, at: "16:50:00",
                  signals: flows, value: 5, limit: 3, unit: "m3/h", basis: leak, message: "other plant", plant: "other-plant"),
        ]
    }

    static var outcomes: [InterlockOutcome] {
        [
            InterlockOutcome(plant: plantID, equipment: "dc1-station", trigger: "cooling-flow-low", kind: .failed,
                             trippedAt: at("16:00:02"), latencyMilliseconds: nil, cause: platformCause),
            InterlockOutcome(plant: plantID, equipment: "bof1-lance", trigger: "flow-difference", kind: .ok,
                             trippedAt: at("16:10:02"), latencyMilliseconds: 1850, cause: nil),
            InterlockOutcome(plant: plantID, equipment: "bof1-lance", trigger: "flow-difference", kind: .late,
                             trippedAt: at("16:30:05"), latencyMilliseconds: 2600, cause: nil),
        ]
    }

    /// Deterministic, lightly smoothed wobble in −0.5…0.5, like a real transmitter's.
    static func noise(_ i: Int) -> Double {
        func white(_ k: Int) -> Double {
            var g = SplitMix64(seed: UInt64(bitPattern: Int64(k)))
            return Double(g.next() >> 11) / Double(1 << 53) - 0.5
        }
        return 0.5 * white(i) + 0.3 * white(i - 1) + 0.2 * white(i - 2)
    }

    /// 1 Hz readings from `start` for `seconds`, value from the offset in seconds.
    static func series(_ equipment: String, _ signal: String, unit: String?, from start: String, seconds: Int,
                       _ value: (Int) -> Double) -> EvidenceSeries {
        let t0 = at(start)
        let points = (0...seconds).map { EvidencePoint(t0.adding(milliseconds: Int64($0) * 1000), value($0)) }
        return EvidenceSeries(equipment: equipment, signal: signal, unit: unit, points: points)
    }

    /// A boolean that turns true at `on` (and false again at `off`), sampled each second plus the edges.
    static func feedback(_ equipment: String, _ signal: String, from start: String, to end: String,
                         on: String?, off: String? = nil) -> EvidenceSeries {
        let (t0, t1) = (at(start), at(end))
        var times = stride(from: t0.milliseconds, through: t1.milliseconds, by: 1000).map(EventTime.init(milliseconds:))
        if let on { times.append(at(on)) }
        if let off { times.append(at(off)) }
        times.sort()
        let points = times.map { t -> EvidencePoint in
            let isOn = on.map { t >= at($0) } ?? false
            let isOff = off.map { t >= at($0) } ?? false
            return EvidencePoint(t, isOn && !isOff ? 1 : 0)
        }
        return EvidenceSeries(equipment: equipment, signal: signal, unit: nil, points: points)
    }

    static var samples: [EvidenceSeries] {
        // Cooling flow: 120 m3/h, drops to ~82 at 16:00:02, back to 121 by 16:04:30.
        let flow = series("dc1-station", "cooling_flow", unit: "m3/h", from: "15:54:00", seconds: 16 * 60) { s in
            let drop = 360 + 0   // 16:00:00
            switch s {
            case ..<(drop - 6): return 120 + noise(s)
            case ..<(drop + 2): return 120 - Double(s - (drop - 6)) * 4.7 + noise(s) * 0.3
            case ..<(drop + 240): return 82 + noise(s) * 2
            case ..<(drop + 270): return 82 + Double(s - (drop + 240)) * 1.3
            default: return 121 + noise(s)
            }
        }
        // Lance flows: inlet ~120, outlet short by up to 4.1 (16:10) and 3.6 (16:30).
        let inlet = series("bof1-lance", "inlet_flow", unit: "m3/h", from: "16:04:00", seconds: 34 * 60) { 120 + noise($0) * 0.4 }
        let outlet = series("bof1-lance", "outlet_flow", unit: "m3/h", from: "16:04:00", seconds: 34 * 60) { s in
            let t = s - 360   // seconds after 16:10:00
            let u = s - 1560  // seconds after 16:30:00
            var diff = 0.3
            if t >= -30, t < 120 { diff = t < 2 ? 0.3 + Double(t + 30) * 0.119 : 4.1 - Double(t - 2) * 0.02 }
            if u >= -10, u < 60 { diff = u < 5 ? 0.3 + Double(u + 10) * 0.22 : 3.6 - Double(u - 5) * 0.04 }
            return 120 + noise(s) * 0.4 - diff
        }
        // CO at the platform: baseline 3 ppm, 31 ppm at 16:20, peak 38, below 22 by 16:26.
        let co = series("co-bof1-platform", "co", unit: "ppm", from: "16:14:00", seconds: 18 * 60) { s in
            let t = Double(s - 360)  // seconds after 16:20:00
            if t < -120 { return 3 + noise(s) }
            if t < 0 { return 3 + (t + 120) / 120 * 28 }
            if t < 120 { return 31 + t / 120 * 7 }
            if t < 360 { return 38 - (t - 120) / 240 * 16.5 }
            return max(3, 21.5 - (t - 360) / 60 * 4) + noise(s) * 0.5
        }
        // Cooling pressure until 16:39:30, then nothing (stale at 16:40:00).
        let pressure = series("dc1-station", "cooling_pressure", unit: "kPa", from: "16:30:00", seconds: 570) { 162 + noise($0) * 1.5 }
        return [
            flow, inlet, outlet, co, pressure,
            feedback("dc1-station", "shutoff_closed", from: "15:59:30", to: "16:01:00", on: "16:00:03.200"),
            feedback("dc1-station", "drain_open", from: "15:59:30", to: "16:01:00", on: "16:00:04.100"),
            feedback("dc1-station", "platform_stopped", from: "15:59:30", to: "16:01:00", on: "16:00:52"),
            feedback("bof1-lance", "tilt_locked", from: "16:29:30", to: "16:31:00", on: "16:30:06.100", off: "16:30:50"),
            feedback("bof1-lance", "lance_raised", from: "16:29:30", to: "16:31:00", on: "16:30:07.600", off: "16:30:50"),
        ]
    }

    static var availability: [SignalAvailability] {
        let hour: Int64 = 3_600_000
        let full = ["cooling_flow", "shutoff_closed", "drain_open", "platform_stopped"].map {
            SignalAvailability(equipment: "dc1-station", signal: $0, healthyMilliseconds: hour, observedMilliseconds: hour)
        }
        return full + [
            SignalAvailability(equipment: "dc1-station", signal: "cooling_pressure", healthyMilliseconds: 2_400_000, observedMilliseconds: hour),
            SignalAvailability(equipment: "bof1-lance", signal: "inlet_flow", healthyMilliseconds: 3_599_100, observedMilliseconds: hour),
            SignalAvailability(equipment: "bof1-lance", signal: "outlet_flow", healthyMilliseconds: hour, observedMilliseconds: hour),
            SignalAvailability(equipment: "co-bof1-platform", signal: "co", healthyMilliseconds: 3_599_995, observedMilliseconds: hour),
        ]
    }

    static var input: AuditInput {
        var input = AuditInput(plantID: plantID, plantName: plantName, from: from, to: to, generatedAt: at("17:05:00"),
                               configHash: configHash, events: events, interlockOutcomes: outcomes, samples: samples,
                               availability: availability)
        input.hazards = hazards
        return input
    }

    /// The hazard records the hour's alarms open, through the daemon's own desk: the casting
    /// station's failed interlock (the process alarms open none).
    static var hazards: [Hazard] {
        var desk = HazardDesk()
        var out = HazardDesk.Output()
        for e in events { desk.observe(e, into: &out) }
        var latest: [String: Hazard] = [:]
        for h in out.changed { latest[h.id] = h }
        return latest.values.sorted { $0.id < $1.id }
    }

    static var report: AuditReport { AuditReport(input) }
}
