import BerthCore
import Testing
@testable import BerthEngine

/// The engine checks every plan itself, whatever the controller checked before.
@Suite struct PlanCheckTests {
    func plan(command: String) throws -> DeployPlan {
        var plan = try Host().plan(.deploy, Samples.release("abc"))
        plan.services[0].command = command
        return plan
    }

    /// "\r\n" is one Swift Character, equal to neither "\n" nor "\r": the check reads scalars.
    @Test(arguments: ["python3 a.py\r\nrm -rf /", "a\nb", "a\rb", "a\0b"])
    func aCommandOnMoreThanOneLineIsRefused(command: String) throws {
        #expect(throws: EngineError.badInput("the deploy plan is invalid: service 'web' needs a command on one line.")) {
            try PlanCheck.validate(try plan(command: command), command: .deploy)
        }
    }

    @Test func aPlanWithNoServicesIsRefused() throws {
        var plan = try Host().plan(.deploy, Samples.release("abc"))
        plan.services = []
        #expect(throws: EngineError.badInput("the deploy plan is invalid: there are no services to run on this host.")) {
            try PlanCheck.validate(plan, command: .deploy)
        }
    }
}
