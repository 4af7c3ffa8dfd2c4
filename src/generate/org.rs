//! The simulated organisation: accounts, pipelines, people, networks.
//!
//! Everything here is data: changing the organisation means editing these tables.

/// Organization id used in ARNs.
pub const ORG_ID: &str = "o-pw7example1";

/// An environment and its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Env {
    /// Shared tooling: CI service roles, artifact buckets.
    Tooling,
    /// Development.
    Dev,
    /// Staging.
    Staging,
    /// Production.
    Prod,
}

impl Env {
    /// The account id.
    pub fn account(self) -> &'static str {
        match self {
            Env::Tooling => "111111111111",
            Env::Dev => "222222222222",
            Env::Staging => "333333333333",
            Env::Prod => "444444444444",
        }
    }

    /// The environment name.
    pub fn name(self) -> &'static str {
        match self {
            Env::Tooling => "tooling",
            Env::Dev => "dev",
            Env::Staging => "staging",
            Env::Prod => "prod",
        }
    }
}

/// The CI system behind a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// GitHub Actions, OIDC web identity into a deploy role.
    GithubActions,
    /// GitLab CI, OIDC web identity into a deploy role.
    GitlabCi,
    /// AWS CodeBuild with a service role.
    CodeBuild,
    /// AWS CodePipeline with a service role, running CodeBuild and CloudFormation.
    CodePipeline,
    /// Jenkins with an IAM user's long-term access key.
    Jenkins,
}

/// When a pipeline runs.
#[derive(Debug, Clone, Copy)]
pub enum Schedule {
    /// On pushes during working hours, about this many runs per working day.
    Pushes(f64),
    /// Every night at this UTC hour (and minute).
    Nightly(u32, u32),
    /// Releases on these weekdays (0 = Monday) at about this hour.
    Releases(&'static [u32], u32),
}

/// One API a pipeline calls: service, operation, read-only, relative weight.
pub type Api = (&'static str, &'static str, bool, u32);

/// A pipeline of the organisation.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Stable pipeline id.
    pub id: &'static str,
    /// CI system.
    pub kind: Kind,
    /// Repository (`org/repo`, GitLab project path), build project or Jenkins job.
    pub repo: &'static str,
    /// Workflow file, pipeline or job name.
    pub workflow: &'static str,
    /// The IAM role it uses (in each target account), or the IAM user for Jenkins.
    pub role: &'static str,
    /// Environments it deploys to, in promotion order.
    pub envs: &'static [Env],
    /// Regions it works in (first is the main one).
    pub regions: &'static [&'static str],
    /// APIs called during a run.
    pub apis: &'static [Api],
    /// API calls per run at scale 1.
    pub calls: (u32, u32),
    /// When it runs.
    pub schedule: Schedule,
    /// Usual triggering actors.
    pub actors: &'static [&'static str],
}

const DEPLOY_STATIC: &[Api] = &[
    ("s3.amazonaws.com", "PutObject", false, 20),
    ("s3.amazonaws.com", "ListBucket", true, 6),
    ("s3.amazonaws.com", "HeadObject", true, 6),
    ("cloudfront.amazonaws.com", "CreateInvalidation", false, 1),
    ("sts.amazonaws.com", "GetCallerIdentity", true, 1),
];
const DEPLOY_ECS: &[Api] = &[
    ("ecr.amazonaws.com", "GetAuthorizationToken", true, 2),
    ("ecr.amazonaws.com", "InitiateLayerUpload", false, 4),
    ("ecr.amazonaws.com", "UploadLayerPart", false, 8),
    ("ecr.amazonaws.com", "CompleteLayerUpload", false, 4),
    ("ecr.amazonaws.com", "PutImage", false, 1),
    ("ecs.amazonaws.com", "RegisterTaskDefinition", false, 1),
    ("ecs.amazonaws.com", "UpdateService", false, 1),
    ("ecs.amazonaws.com", "DescribeServices", true, 6),
    ("sts.amazonaws.com", "GetCallerIdentity", true, 1),
];
const TERRAFORM: &[Api] = &[
    ("ec2.amazonaws.com", "DescribeVpcs", true, 6),
    ("ec2.amazonaws.com", "DescribeSubnets", true, 6),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", true, 8),
    ("iam.amazonaws.com", "GetRole", true, 8),
    ("iam.amazonaws.com", "GetRolePolicy", true, 6),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", true, 4),
    ("s3.amazonaws.com", "GetBucketPolicy", true, 4),
    ("s3.amazonaws.com", "GetObject", true, 2),
    ("s3.amazonaws.com", "PutObject", false, 1),
    ("dynamodb.amazonaws.com", "PutItem", false, 1),
    ("dynamodb.amazonaws.com", "DeleteItem", false, 1),
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        false,
        1,
    ),
    ("sts.amazonaws.com", "GetCallerIdentity", true, 1),
];
const LAMBDA: &[Api] = &[
    ("lambda.amazonaws.com", "GetFunction", true, 4),
    ("lambda.amazonaws.com", "UpdateFunctionCode", false, 2),
    (
        "lambda.amazonaws.com",
        "UpdateFunctionConfiguration",
        false,
        1,
    ),
    ("lambda.amazonaws.com", "PublishVersion", false, 1),
    ("s3.amazonaws.com", "PutObject", false, 2),
];
const BUILD: &[Api] = &[
    ("s3.amazonaws.com", "GetObject", true, 6),
    ("s3.amazonaws.com", "PutObject", false, 4),
    ("logs.amazonaws.com", "CreateLogStream", false, 1),
    ("logs.amazonaws.com", "PutLogEvents", false, 10),
    ("ecr.amazonaws.com", "GetAuthorizationToken", true, 1),
    ("ecr.amazonaws.com", "BatchGetImage", true, 3),
    ("ecr.amazonaws.com", "PutImage", false, 1),
    ("secretsmanager.amazonaws.com", "GetSecretValue", true, 1),
];
const ETL: &[Api] = &[
    ("s3.amazonaws.com", "GetObject", true, 10),
    ("s3.amazonaws.com", "PutObject", false, 5),
    ("glue.amazonaws.com", "UpdateJob", false, 1),
    ("glue.amazonaws.com", "GetJob", true, 3),
    ("glue.amazonaws.com", "StartJobRun", false, 1),
    ("logs.amazonaws.com", "PutLogEvents", false, 6),
];
const PIPELINE: &[Api] = &[
    ("codebuild.amazonaws.com", "StartBuild", false, 2),
    ("codebuild.amazonaws.com", "BatchGetBuilds", true, 8),
    ("s3.amazonaws.com", "GetObject", true, 4),
    ("s3.amazonaws.com", "PutObject", false, 3),
    ("cloudformation.amazonaws.com", "DescribeStacks", true, 6),
    ("cloudformation.amazonaws.com", "CreateChangeSet", false, 1),
    ("cloudformation.amazonaws.com", "DescribeChangeSet", true, 3),
    ("cloudformation.amazonaws.com", "ExecuteChangeSet", false, 1),
];
const JENKINS: &[Api] = &[
    ("s3.amazonaws.com", "PutObject", false, 8),
    ("s3.amazonaws.com", "ListBucket", true, 4),
    (
        "elasticbeanstalk.amazonaws.com",
        "CreateApplicationVersion",
        false,
        1,
    ),
    (
        "elasticbeanstalk.amazonaws.com",
        "UpdateEnvironment",
        false,
        1,
    ),
    (
        "elasticbeanstalk.amazonaws.com",
        "DescribeEnvironments",
        true,
        6,
    ),
];

const DEVS: &[&str] = &["alice", "bob", "carol", "dave", "erin"];

/// The pipelines of the organisation.
pub fn pipelines() -> Vec<Pipeline> {
    use Env::*;
    use Kind::*;
    vec![
        Pipeline {
            id: "github:acme/web:deploy.yml",
            kind: GithubActions,
            repo: "acme/web",
            workflow: "deploy.yml",
            role: "gha-deploy-web",
            envs: &[Staging, Prod],
            regions: &["us-east-1"],
            apis: DEPLOY_STATIC,
            calls: (20, 60),
            schedule: Schedule::Pushes(4.0),
            actors: &["alice", "bob", "carol"],
        },
        Pipeline {
            id: "github:acme/api:deploy.yml",
            kind: GithubActions,
            repo: "acme/api",
            workflow: "deploy.yml",
            role: "gha-deploy-api",
            envs: &[Staging, Prod],
            regions: &["us-east-1", "eu-west-1"],
            apis: DEPLOY_ECS,
            calls: (30, 80),
            schedule: Schedule::Pushes(3.0),
            actors: &["bob", "dave", "erin"],
        },
        Pipeline {
            id: "github:acme/infra:terraform.yml",
            kind: GithubActions,
            repo: "acme/infra",
            workflow: "terraform.yml",
            role: "gha-terraform",
            envs: &[Dev, Staging, Prod],
            regions: &["us-east-1"],
            apis: TERRAFORM,
            calls: (60, 150),
            schedule: Schedule::Nightly(2, 10),
            actors: &["github-actions[bot]"],
        },
        Pipeline {
            id: "github:acme/mobile-backend:release.yml",
            kind: GithubActions,
            repo: "acme/mobile-backend",
            workflow: "release.yml",
            role: "gha-release-mobile",
            envs: &[Dev],
            regions: &["us-west-2"],
            apis: LAMBDA,
            calls: (8, 20),
            schedule: Schedule::Pushes(2.0),
            actors: &["carol", "erin"],
        },
        Pipeline {
            id: "github:acme/docs:publish.yml",
            kind: GithubActions,
            repo: "acme/docs",
            workflow: "publish.yml",
            role: "gha-publish-docs",
            envs: &[Dev],
            regions: &["us-east-1"],
            apis: DEPLOY_STATIC,
            calls: (10, 30),
            schedule: Schedule::Nightly(4, 30),
            actors: &["github-actions[bot]"],
        },
        Pipeline {
            id: "codebuild:111111111111:us-east-1:payments-build",
            kind: CodeBuild,
            repo: "payments-build",
            workflow: "payments-build",
            role: "codebuild-payments-build",
            envs: &[Tooling],
            regions: &["us-east-1"],
            apis: BUILD,
            calls: (25, 60),
            schedule: Schedule::Pushes(5.0),
            actors: &["codepipeline"],
        },
        Pipeline {
            id: "codebuild:111111111111:eu-west-1:data-etl-build",
            kind: CodeBuild,
            repo: "data-etl-build",
            workflow: "data-etl-build",
            role: "codebuild-data-etl",
            envs: &[Tooling],
            regions: &["eu-west-1"],
            apis: ETL,
            calls: (20, 50),
            schedule: Schedule::Nightly(1, 0),
            actors: &["events.amazonaws.com"],
        },
        Pipeline {
            id: "codepipeline:111111111111:us-east-1:payments-release",
            kind: CodePipeline,
            repo: "payments-release",
            workflow: "payments-release",
            role: "codepipeline-payments-release",
            envs: &[Staging, Prod],
            regions: &["us-east-1"],
            apis: PIPELINE,
            calls: (20, 40),
            schedule: Schedule::Releases(&[1, 3], 15),
            actors: &["alice", "dave"],
        },
        Pipeline {
            id: "codepipeline:111111111111:eu-west-1:data-platform",
            kind: CodePipeline,
            repo: "data-platform",
            workflow: "data-platform",
            role: "codepipeline-data-platform",
            envs: &[Staging, Prod],
            regions: &["eu-west-1"],
            apis: PIPELINE,
            calls: (15, 35),
            schedule: Schedule::Releases(&[2], 10),
            actors: &["erin"],
        },
        Pipeline {
            id: "jenkins:jenkins.acme.example/legacy-portal-deploy",
            kind: Jenkins,
            repo: "legacy-portal",
            workflow: "legacy-portal-deploy",
            role: "jenkins-legacy",
            envs: &[Dev],
            regions: &["us-east-1"],
            apis: JENKINS,
            calls: (15, 40),
            schedule: Schedule::Nightly(22, 0),
            actors: &["timer"],
        },
        Pipeline {
            id: "gitlab:platform/billing",
            kind: GitlabCi,
            repo: "platform/billing",
            workflow: "deploy",
            role: "gitlab-deploy-billing",
            envs: &[Staging, Prod],
            regions: &["us-east-1"],
            apis: DEPLOY_ECS,
            calls: (25, 70),
            schedule: Schedule::Pushes(2.5),
            actors: &["frank", "grace"],
        },
        Pipeline {
            id: "gitlab:platform/search",
            kind: GitlabCi,
            repo: "platform/search",
            workflow: "deploy",
            role: "gitlab-deploy-search",
            envs: &[Dev, Staging],
            regions: &["eu-west-1"],
            apis: LAMBDA,
            calls: (10, 25),
            schedule: Schedule::Pushes(2.0),
            actors: &["grace", "heidi"],
        },
    ]
}

/// People who sign in through IAM Identity Center.
pub fn humans() -> &'static [&'static str] {
    DEVS
}

/// GitHub-hosted runner egress (Azure ranges).
pub const GITHUB_RUNNER_NETS: &[&str] = &["20.42.", "20.55.", "40.84.", "52.234."];
/// GitLab SaaS runner egress (GCP ranges).
pub const GITLAB_RUNNER_NETS: &[&str] = &["34.74.", "35.231."];
/// CodeBuild egress in the region (AWS ranges).
pub const CODEBUILD_NETS: &[&str] = &["3.80.", "54.197."];
/// The on-premises Jenkins NAT address.
pub const JENKINS_IP: &str = "198.51.100.7";
/// The office egress, where people work from.
pub const OFFICE_NET: &str = "203.0.113.";
