//! Building a [`Function`] handle: name, stack, HTTP tuning.

use super::*;

impl FunctionBuilder {
    /// The function's binary, run locally on the local stack
    /// (`env!("CARGO_BIN_EXE_<name>")`; cargo-lambda serves the workspace's
    /// binaries, so the function's name is the binary's).
    pub fn local_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.local_binary = Some(path.into());
        self
    }

    /// Local processes to start (concurrent executions); default 1.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Memory size given to local processes, MB; default 128.
    pub fn memory_mb(mut self, mb: u32) -> Self {
        self.memory_mb = mb;
        self
    }

    /// An environment variable for local processes.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The HTTP client's settings (timeouts: a client timeout is class
    /// `timeout`).
    pub fn http(mut self, tuning: HttpTuning) -> Self {
        self.tuning = tuning;
        self
    }

    /// Connects: on the local stack, starts the function's processes.
    pub async fn connect(self, stack: &Stack) -> Result<Function, LambdaError> {
        let client = Client::new(&crate::aws::sdk_config(&self.tuning).await);
        let local = match stack {
            Stack::Aws => None,
            Stack::Local(local) => {
                let api = local
                    .lambda_runtime_api
                    .as_deref()
                    .ok_or(LambdaError::NoRuntimeApi)?;
                let binary = self
                    .local_binary
                    .ok_or_else(|| LambdaError::NoBinary(self.name.clone()))?;
                let env: Vec<(&str, &str)> = self
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let f = LocalFunction::start(
                    binary,
                    &self.name,
                    api,
                    self.concurrency,
                    self.memory_mb,
                    &env,
                )
                .map_err(|source| LambdaError::Process {
                    function: self.name.clone(),
                    source,
                })?;
                Some(f)
            }
        };
        Ok(Function {
            client,
            name: self.name,
            local,
        })
    }
}
