//! Scratch state machines: created for a test, deleted when dropped.

use super::*;

/// A state machine made for one test: unique name, deleted when dropped
/// (after stopping its running executions), also when the test panics.
#[derive(Debug)]
pub struct ScratchStateMachine {
    workflow: Workflow,
}

impl ScratchStateMachine {
    /// Creates a standard state machine `<prefix>-<pid>-<nanos>` from an
    /// Amazon States Language definition. `role_arn` is the execution role
    /// (any well-formed ARN on the local stack).
    pub async fn create(
        client: &Client,
        prefix: &str,
        definition: &str,
        role_arn: &str,
    ) -> Result<ScratchStateMachine, ExecutionError> {
        Self::create_of_type(
            client,
            prefix,
            definition,
            role_arn,
            StateMachineType::Standard,
        )
        .await
    }

    /// As [`create`](Self::create), an **express** state machine (run it
    /// with [`Workflow::run_express`]).
    pub async fn create_express(
        client: &Client,
        prefix: &str,
        definition: &str,
        role_arn: &str,
    ) -> Result<ScratchStateMachine, ExecutionError> {
        Self::create_of_type(
            client,
            prefix,
            definition,
            role_arn,
            StateMachineType::Express,
        )
        .await
    }

    async fn create_of_type(
        client: &Client,
        prefix: &str,
        definition: &str,
        role_arn: &str,
        kind: StateMachineType,
    ) -> Result<ScratchStateMachine, ExecutionError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = format!("{prefix}-{}-{nanos}", std::process::id());
        let created = client
            .create_state_machine()
            .name(&name)
            .definition(definition)
            .role_arn(role_arn)
            .r#type(kind)
            .send()
            .await
            .map_err(|e| ExecutionError::api("CreateStateMachine", e))?;
        Ok(ScratchStateMachine {
            workflow: Workflow::new(client.clone(), created.state_machine_arn),
        })
    }

    /// The workflow, for runs.
    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }
}

impl Drop for ScratchStateMachine {
    fn drop(&mut self) {
        let workflow = self.workflow.clone();
        let done = crate::aws::block_on_own_thread(async move {
            workflow
                .stop_all_running()
                .await
                .map_err(|e| e.to_string())?;
            workflow
                .client
                .delete_state_machine()
                .state_machine_arn(&workflow.arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| crate::aws::error_chain(&e))
        })
        .and_then(|r| r);
        if let Err(e) = done {
            eprintln!(
                "perf-runtime: could not clean up state machine {}: {e}",
                self.workflow.arn
            );
        }
    }
}
