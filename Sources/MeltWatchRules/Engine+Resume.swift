import MeltWatchCore

/// Alarm numbering across restarts, and the duty room's end of latched alarms.
///
/// `alarm_id` counts a rule's activations on an equipment; receivers deduplicate on `event_id`, so
/// an id used before a restart must never be used again for a different alarm. The alarm book keeps
/// the highest number used and the engine continues from it.
extension Engine {
    /// Continues numbering after a restart: the next activation of `rule` on the equipment is
    /// `activations + 1`. With `latchedOpen`, a latched alarm of that rule is still open (not yet
    /// acknowledged): further failures fold into it until ``release(plant:equipment:rule:)``.
    /// Unknown equipment or rules (removed from the config) are ignored. Returns whether it applied.
    @discardableResult
    public func resume(plant: String, equipment: String, rule: String, activations: Int, latchedOpen: Bool) -> Bool {
        if rule == EngineCore.gatewaySilentRule, equipment == EngineCore.gatewayEquipment {
            return core.resumeGateway(plant: plant, activations: activations)
        }
        guard let e = core.equipmentIndex(plant: plant, id: equipment) else { return false }
        return core.resume(equipment: e, rule: rule, activations: activations, latchedOpen: latchedOpen)
    }

    /// The duty room acknowledged a latched alarm of `rule` on the equipment: the rule may raise a
    /// new one. Returns whether the rule was found.
    @discardableResult
    public func release(plant: String, equipment: String, rule: String) -> Bool {
        guard let e = core.equipmentIndex(plant: plant, id: equipment),
              let r = model.equipment[e].template.rules.firstIndex(where: { $0.id == rule }) else { return false }
        core.tracks[core.trackBase[e] + r].active = false
        return true
    }
}

extension EngineCore {
    /// Continues the numbering of a plant's `gateway-silent` alarms.
    mutating func resumeGateway(plant: String, activations: Int) -> Bool {
        guard let p = plants.ids.firstIndex(of: plant) else { return false }
        silence.activations[p] = max(silence.activations[p], activations)
        return true
    }

    func equipmentIndex(plant: String, id: String) -> Int? {
        model.equipment.firstIndex { $0.plant == plant && $0.id == id }
    }

    mutating func resume(equipment e: Int, rule: String, activations: Int, latchedOpen: Bool) -> Bool {
        if let r = model.equipment[e].template.rules.firstIndex(where: { $0.id == rule }) {
            let t = trackBase[e] + r
            tracks[t].activations = max(tracks[t].activations, activations)
            if latchedOpen {
                tracks[t].active = true
                tracks[t].ordinal = max(tracks[t].ordinal, 1)
            }
            return true
        }
        if let c = SignalHealth.Condition.allCases.firstIndex(where: { $0.rawValue == rule }) {
            let a = e * Self.conditionCount + c
            deviceActivations[a] = max(deviceActivations[a], activations)
            return true
        }
        if rule == Self.setpointRule {
            setpointActivations[e] = max(setpointActivations[e], activations)
            return true
        }
        if rule == Self.chatterRule {
            chatterActivations[e] = max(chatterActivations[e] ?? 0, activations)
            return true
        }
        return false
    }
}

extension Engine {
    /// Per signal (indexed by ``SignalID``): `stale`, `frozen` or `bad` (its first fault), `unknown`
    /// before its first reading and while its cause of silence stands (the broker link is down, or
    /// its plant's gateway is silent: one cause, one alarm), else `ok` — for the duty room's signal overview.
    public func healthSummary() -> [String] {
        let linkDown = !core.silence.linkUp
        var summary = core.signals.enumerated().map { i, s in
            s.time == nil || linkDown || core.silence.silent[core.plants.plantOfEquipment[Int(core.bindings[i].equipment)]] ? "unknown" : "ok"
        }
        for (slot, signal) in core.healthSignal.enumerated() {
            guard let fault = core.health[slot].faults.first else { continue }
            summary[signal] = fault == .badQuality ? "bad" : fault.rawValue
        }
        return summary
    }

    /// Whether the broker link is up as the engine last heard (``EngineInput/link(up:at:)``).
    public var linkUp: Bool { core.silence.linkUp }

    /// The plants whose gateway is silent now (`gateway-silent` raised).
    public var silentPlants: [String] { core.plants.ids.indices.filter { core.silence.silent[$0] }.map { core.plants.ids[$0] } }
}
