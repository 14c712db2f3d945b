//! AWS Signature Version 4 for requests to IAM-authorised endpoints (API
//! Gateway with `AWS_IAM`, Lambda function URLs with `AWS_IAM`), signed by
//! the AWS SDK's own signer (`aws-sigv4`).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use super::HttpError;

/// Signs every request of a client ([`ClientBuilder::sigv4`](super::ClientBuilder::sigv4)):
/// the service (`execute-api` for API Gateway, `lambda` for function
/// URLs), the region and the credentials.
///
/// ```
/// use perf_runtime::http::{Client, Signer};
/// let signer = Signer::new("lambda", "eu-west-1", "AKIDEXAMPLE", "secret", None);
/// let client = Client::builder().sigv4(signer).build();
/// ```
#[derive(Clone)]
pub struct Signer {
    service: String,
    region: String,
    identity: Identity,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("Signer")
            .field("service", &self.service)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with these credentials.
    pub fn new(
        service: &str,
        region: &str,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
    ) -> Signer {
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key,
            session_token.map(str::to_owned),
            None,
            "perf-runtime",
        );
        Signer {
            service: service.to_owned(),
            region: region.to_owned(),
            identity: credentials.into(),
        }
    }

    /// A signer with the credentials of the environment, as a Lambda
    /// function or a CI job has them: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (if any), and the
    /// region from `AWS_REGION` or `AWS_DEFAULT_REGION`. An error names
    /// the variable missing.
    pub fn from_env(service: &str) -> Result<Signer, HttpError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let need = |name: &str| {
            var(name).ok_or_else(|| {
                HttpError::Invalid(format!(
                    "SigV4: {name} is not set (the credentials to sign with)"
                ))
            })
        };
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                HttpError::Invalid("SigV4: neither AWS_REGION nor AWS_DEFAULT_REGION is set".into())
            })?;
        Ok(Signer::new(
            service,
            &region,
            &need("AWS_ACCESS_KEY_ID")?,
            &need("AWS_SECRET_ACCESS_KEY")?,
            var("AWS_SESSION_TOKEN").as_deref(),
        ))
    }

    /// Adds the signature's headers (`authorization`, `x-amz-date`,
    /// `x-amz-content-sha256`, and `x-amz-security-token` with a session
    /// token) to `request`, whose URI is the full URL `url`; `at` is the
    /// signing time.
    pub(crate) fn sign<B>(
        &self,
        request: &mut hyper::Request<B>,
        url: &str,
        body: &[u8],
        at: SystemTime,
    ) -> Result<(), HttpError> {
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(&self.service)
            .time(at)
            .settings(settings)
            .build()
            .map_err(|e| HttpError::Invalid(format!("SigV4: {e}")))?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)));
        let signable = SignableRequest::new(
            request.method().as_str(),
            url,
            headers,
            SignableBody::Bytes(body),
        )
        .map_err(|e| HttpError::Invalid(format!("SigV4: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| HttpError::Invalid(format!("SigV4: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}
