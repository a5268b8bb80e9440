import BerthCore
import Glibc

/// A catch-up's check of what the release store served, when the deploying controller signs
/// plans (`CatchUpSource.signer`): the plan's text must carry a good `ssh-keygen -Y` signature
/// by the key that a deploy installed in `catch-up/allowed_signers`, be this host's plan of this
/// app and environment, and name the release `desired.json` names; `desired.json` must carry a
/// good signature too (namespace `berth-desired`), checked first. The plan that runs and the
/// desired state it follows are the ones decoded from the signed texts, never the store's copies.
struct PlanVerification {
    let settings: CatchUpSettings

    enum Verdict: Equatable {
        /// The signed plan and the signed desired state, both decoded from the text the controller signed.
        case trusted(DeployPlan, DesiredState)
        case refused(String)
        /// `desired.json` is not as the controller signed it (or is for another app, environment or host).
        case refusedDesired(String)
        /// A good signature, but older than the newest plan this host ran (a deploy with `--host`,
        /// one that did not publish, or an old plan served again): nothing to do.
        case stale(issued: String, newest: String)
    }

    static func allowedSignersFile(_ layout: HostLayout) -> String { "\(layout.catchUpDir)/allowed_signers" }
    /// When the newest plan this host ran was made (written by every deploy, rollback and catch-up).
    static func issuedAtFile(_ layout: HostLayout) -> String { "\(layout.catchUpDir)/issued-at" }

    /// Why `signature` is not a good signature of `text` for `namespace` by the key in
    /// `allowed_signers`, or nil when it is.
    func problem(text: String, signature: String, namespace: String, name: String) async -> String? {
        let layout = settings.layout
        let allowed = Self.allowedSignersFile(layout)
        guard Files.kind(allowed) == .file else { return "\(allowed) is missing; a deploy writes it" }
        let signatureFile = "\(layout.catchUpDir)/\(name).sig"
        do {
            try Files.writeAtomically(signatureFile, signature, mode: 0o600)
        } catch {
            return "\(error)"
        }
        defer { try? Files.remove(signatureFile) }
        let verified = await Commands.run(PlanSigning.verify(allowedSigners: allowed, signatureFile: signatureFile, namespace: namespace),
                                          feeding: Array(text.utf8))
        guard verified.succeeded else {
            return "ssh-keygen: \(verified.complaint.isEmpty ? "exit \(verified.status)" : verified.complaint)"
        }
        return nil
    }

    /// The desired state the controller signed: checked before any of its fields is used.
    func checkDesired(_ answer: CatchUpAnswer) async -> Result<DesiredState, Refusal> {
        guard let signed = answer.signedDesired else { return .failure(Refusal("it came without a signature")) }
        if let problem = await problem(text: signed.text, signature: signed.signature, namespace: PlanSigning.desiredNamespace,
                                       name: "desired.json") {
            return .failure(Refusal(problem))
        }
        guard let desired = try? EngineJSON.decode(DesiredState.self, from: Array(signed.text.utf8)) else {
            return .failure(Refusal("the signed text is not a desired state"))
        }
        guard desired.app == settings.app, desired.env == settings.env else {
            return .failure(Refusal("the signed desired state is for \(desired.app) (\(desired.env)), not for this host's"))
        }
        return .success(desired)
    }

    struct Refusal: Error, Equatable {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    func check(_ answer: CatchUpAnswer) async -> Verdict {
        let desired: DesiredState
        switch await checkDesired(answer) {
        case let .success(checked): desired = checked
        case let .failure(refusal): return .refusedDesired(refusal.reason)
        }
        guard let text = answer.signedPlan, let signature = answer.signature else {
            return .refused("it came without a signature")
        }
        if let problem = await problem(text: text, signature: signature, namespace: PlanSigning.namespace, name: "plan.json") {
            return .refused(problem)
        }
        let layout = settings.layout
        guard let plan = try? EngineJSON.decode(DeployPlan.self, from: Array(text.utf8)) else {
            return .refused("the signed text is not a deploy plan")
        }
        guard plan.app == settings.app, plan.env == settings.env, plan.host == settings.host else {
            return .refused("the signed plan is for \(plan.app) (\(plan.env)) on \(plan.host), not for this host")
        }
        let newest = ((try? Files.readString(Self.issuedAtFile(layout))) ?? nil)?.split(separator: "\n").first.map(String.init)
        if let newest {
            guard let issued = plan.catchUp?.issuedAt else { return .refused("the signed plan has no date") }
            if Self.isOlder(issued, than: newest) { return .stale(issued: issued, newest: newest) }
        }
        guard let release = plan.release, release.id == desired.release.id else {
            return .refused("desired.json names release \(desired.release.id) but the signed plan names \(plan.release?.id ?? "none")")
        }
        return .trusted(plan, desired)
    }
}

extension PlanVerification {
    /// Writes (or, without a signer, removes) `catch-up/allowed_signers`: run by every deploy over
    /// its authenticated ssh session, so the key a catch-up trusts comes from the controller only.
    /// Also records when the plan that ran was made (`issuedAt`): later catch-ups accept no older one.
    static func install(signer: String?, issuedAt: String?, layout: HostLayout) throws(SystemCallError) {
        let file = allowedSignersFile(layout)
        guard let signer else {
            try Files.remove(file)
            try Files.remove(issuedAtFile(layout))
            return
        }
        let text = PlanSigning.allowedSigners(publicKey: signer)
        if try Files.readString(file) != text { try Files.writeAtomically(file, text, mode: 0o600) }
        if let issuedAt, try Files.readString(issuedAtFile(layout)) != issuedAt + "\n" {
            try Files.writeAtomically(issuedAtFile(layout), issuedAt + "\n", mode: 0o600)
        }
    }

    /// ISO 8601 UTC times compare as text once both have the same shape; fractions are padded.
    static func isOlder(_ time: String, than other: String) -> Bool {
        func key(_ text: String) -> String {
            let trimmed = text.hasSuffix("Z") ? String(text.dropLast()) : text
            let parts = trimmed.split(separator: ".", maxSplits: 1)
            let fraction = parts.count == 2 ? String(parts[1]) : ""
            return String(parts.first ?? "") + "." + fraction.padding(to: 9)
        }
        return key(time) < key(other)
    }
}

private extension String {
    func padding(to length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: "0", count: length - count)
    }
}
