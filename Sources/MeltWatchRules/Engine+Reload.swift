import MeltWatchCore

/// A configuration reload (SIGHUP): the engine of the new model continues where the old one was for
/// every equipment whose definition did not change.
///
/// An equipment is unchanged when its plant, id, template, resolved parameters and the health
/// settings of each of its signals are the same (topics may change: routing is the decoder's). Such
/// an equipment keeps its monitor (on-delays, interlock checks in progress, rate windows), its
/// alarm tracks and numbering, its signals' last values and health, its timers and chattering.
/// Every other equipment starts fresh; the caller resumes its numbering from the alarm book so no
/// `alarm_id` is ever used twice, and closes what the fresh rules cannot vouch for.
public struct EngineReload: Sendable, Equatable {
    /// `plant:equipment` of the equipment carried over unchanged.
    public var carried: Set<String>
    /// `plant:equipment` of equipment new or changed in the new model (fresh state).
    public var fresh: [String]
    /// `plant:equipment` of equipment of the old model that the new one does not have.
    public var removed: [String]
}

extension Engine {
    /// An engine for `model` that carries over `old`'s state of every unchanged equipment (see
    /// ``EngineReload``). `old` must not be used afterwards: the monitors move to the new engine.
    public static func reloading(_ old: Engine, into model: EngineModel) -> (engine: Engine, reload: EngineReload) {
        let engine = Engine(model: model, allowedLatenessMilliseconds: old.allowedLatenessMilliseconds)
        let pairs = engine.core.carryOver(from: old.core)
        engine.onInterlockOutcome = old.onInterlockOutcome
        engine.onSetpointChange = old.onSetpointChange
        let key = { (e: EngineEquipment) in "\(e.plant):\(e.id)" }
        let carriedNew = Set(pairs.map(\.new)), carriedOld = Set(pairs.map(\.old))
        let reload = EngineReload(
            carried: Set(pairs.map { key(model.equipment[$0.new]) }),
            fresh: model.equipment.indices.filter { !carriedNew.contains($0) }.map { key(model.equipment[$0]) },
            removed: old.model.equipment.indices.filter { !carriedOld.contains($0) }
                .map { key(old.model.equipment[$0]) }
                .filter { k in !model.equipment.contains { key($0) == k } }
        )
        return (engine, reload)
    }
}

extension EngineCore {
    /// What makes two equipment the same for the rules.
    struct Definition: Equatable {
        var plant: String
        var id: String
        var template: String
        var params: [String: ParamValue]
        var setpoints: [EngineEquipment.Setpoint]
        /// Per role: whether it is a signal, and its health settings.
        var signals: [Int: HealthSettings?]
    }

    func definition(_ e: Int) -> Definition {
        let eq = model.equipment[e]
        var signals: [Int: HealthSettings?] = [:]
        for s in model.signals where s.equipment == e { signals[s.role] = .some(s.health) }
        return Definition(plant: eq.plant, id: eq.id, template: eq.template.name, params: eq.params, setpoints: eq.setpoints,
                          signals: signals)
    }

    /// Per equipment, per role: its signal index (or nil).
    func signalIndex() -> [[Int: Int]] {
        var index = Array(repeating: [Int: Int](), count: model.equipment.count)
        for (i, b) in bindings.enumerated() { index[Int(b.equipment)][Int(b.role)] = i }
        return index
    }

    /// Moves the state of every unchanged equipment of `old` into this fresh core; returns the pairs.
    mutating func carryOver(from old: EngineCore) -> [(new: Int, old: Int)] {
        var oldByKey: [String: Int] = [:]
        for (i, e) in old.model.equipment.enumerated() { oldByKey["\(e.plant):\(e.id)"] = i }
        let oldSignals = old.signalIndex(), newSignals = signalIndex()
        var pairs: [(new: Int, old: Int)] = []
        for (n, e) in model.equipment.enumerated() {
            guard let o = oldByKey["\(e.plant):\(e.id)"], old.definition(o) == definition(n) else { continue }
            pairs.append((n, o))
            monitors[n] = old.monitors[o]
            for r in e.template.rules.indices { tracks[trackBase[n] + r] = old.tracks[old.trackBase[o] + r] }
            offsets[n] = old.offsets[o]
            operating[n] = old.operating[o]
            for c in 0..<Self.conditionCount { deviceActivations[n * Self.conditionCount + c] = old.deviceActivations[o * Self.conditionCount + c] }
            setpointActivations[n] = old.setpointActivations[o]
            for (role, s) in newSignals[n] {
                guard let was = oldSignals[o][role] else { continue }
                signals[s] = old.signals[was]
                setpointTracks[s] = old.setpointTracks[was]
                for c in 0..<Self.conditionCount {
                    deviceTracks[s * Self.conditionCount + c] = old.deviceTracks[was * Self.conditionCount + c]
                }
                let slot = Int(bindings[s].healthSlot), oldSlot = Int(old.bindings[was].healthSlot)
                if slot >= 0, oldSlot >= 0 {
                    health[slot] = old.health[oldSlot]
                    healthSchedule.update(slot, deadline: health[slot].deadline)
                }
            }
            if let a = old.chatterActivations[o] { chatterActivations[n] = a }
            for r in e.template.rules.indices {
                guard let c = old.chatter[ChatterKey(equipment: o, rule: r)] else { continue }
                chatter[ChatterKey(equipment: n, rule: r)] = c
                if c.track.active { openEpisodes += 1 }
            }
            chatterDeadlines[n] = old.chatterDeadlines[o]
            if let key = old.wanted[o] {
                wanted[n] = key
                registered[n] = key
                timers.push(key: key, index: n)
            }
        }
        counters = old.counters
        lastTick = old.lastTick
        arrival = old.arrival
        // The link and the plants' gateways go on (held signals are judged again: their slots were rescheduled).
        silence.linkUp = old.silence.linkUp
        silence.downSince = old.silence.downSince
        for (p, id) in plants.ids.enumerated() {
            guard let q = old.plants.ids.firstIndex(of: id) else { continue }
            silence.lastArrival[p] = old.silence.lastArrival[q]
            silence.silent[p] = old.silence.silent[q]
            silence.tracks[p] = old.silence.tracks[q]
            silence.activations[p] = old.silence.activations[q]
        }
        return pairs
    }
}
