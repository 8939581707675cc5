"""What the loader knows about IAM actions, to refuse at load what IAM would refuse or what
would be wider than meant (`[[permissions]]` in a service manifest).

Source: AWS's "Service Authorization Reference" (Actions, resources, and condition keys for
AWS services), which lists every service prefix and, per action, the resource types it
supports. An action with no resource type there only accepts `"Resource": "*"`; every other
action must name its resources. The tables below are the part of that reference that
application code commonly uses; an action of a known service that is not listed here is
taken to support resource-level permissions (so `*` is refused for it). The platform's
permissions boundary caps whatever passes (infra/platform/boundary.py).
"""

from __future__ import annotations

# Service prefixes (the part before ":" in an action), from the Service Authorization Reference.
SERVICE_PREFIXES = frozenset(
    """
    access-analyzer acm acm-pca airflow amplify aoss apigateway appconfig appflow application-autoscaling
    applicationinsights appmesh apprunner appsync aps athena autoscaling backup batch bedrock budgets
    cassandra ce cloudformation cloudfront cloudhsm cloudsearch cloudtrail cloudwatch codeartifact
    codebuild codecommit codeconnections codedeploy codeguru-profiler codepipeline codestar-connections
    cognito-identity cognito-idp cognito-sync comprehend config databrew datasync dax directconnect dms
    ds dynamodb ebs ec2 ec2messages ecr ecr-public ecs eks elasticache elasticbeanstalk elasticfilesystem
    elasticloadbalancing elasticmapreduce emr-containers emr-serverless es events evidently firehose fis
    forecast frauddetector fsx gamelift geo glacier glue grafana greengrass guardduty health iam
    identitystore imagebuilder inspector2 iot iotanalytics iotevents ivs kafka kafka-cluster kendra
    kinesis kinesisanalytics kinesisvideo kms lakeformation lambda lex lightsail logs lookoutvision
    macie2 mediaconvert medialive mediapackage mediastore memorydb mobiletargeting mq neptune-db
    network-firewall networkmanager oam organizations personalize pi pipes polly pricing qldb
    quicksight ram rds rds-data rds-db redshift redshift-data redshift-serverless rekognition
    resource-groups route53 route53resolver s3 s3-object-lambda s3express sagemaker scheduler schemas
    sdb secretsmanager securityhub servicecatalog servicediscovery servicequotas ses shield signer sms
    sns sqs ssm ssm-contacts ssm-incidents ssmmessages sso states storagegateway sts support
    swf synthetics tag textract timestream transcribe transfer translate verifiedpermissions
    vpc-lattice waf waf-regional wafv2 wellarchitected workspaces xray
    """.split()
)

# Actions with no resource type in the Service Authorization Reference: `"Resource": "*"`
# is the only value IAM accepts for them. Lower case, matched case-insensitively.
NO_RESOURCE_LEVEL_NAMES = tuple(
    """
    bedrock:ListFoundationModels
    cloudwatch:DescribeAlarmsForMetric cloudwatch:GetMetricData cloudwatch:GetMetricStatistics
    cloudwatch:ListMetrics cloudwatch:PutMetricData
    comprehend:DetectDominantLanguage comprehend:DetectKeyPhrases
    comprehend:DetectSentiment
    dynamodb:DescribeEndpoints dynamodb:DescribeLimits dynamodb:ListTables
    ec2:DescribeAvailabilityZones ec2:DescribeInstances ec2:DescribeRegions ec2:DescribeSecurityGroups
    ec2:DescribeSubnets ec2:DescribeTags ec2:DescribeVpcs
    ecr:GetAuthorizationToken
    events:ListRules
    kms:GenerateRandom kms:ListAliases kms:ListKeys
    lambda:ListFunctions
    logs:DescribeLogGroups
    rekognition:DetectFaces rekognition:DetectLabels rekognition:DetectText
    s3:ListAllMyBuckets
    secretsmanager:GetRandomPassword secretsmanager:ListSecrets
    servicediscovery:DiscoverInstances servicediscovery:ListNamespaces servicediscovery:ListServices
    ses:GetSendQuota
    sns:ListSubscriptions sns:ListTopics
    sqs:ListQueues
    ssm:DescribeParameters
    ssmmessages:CreateControlChannel ssmmessages:CreateDataChannel ssmmessages:OpenControlChannel
    ssmmessages:OpenDataChannel
    states:ListStateMachines
    sts:GetCallerIdentity
    textract:AnalyzeDocument textract:DetectDocumentText
    xray:GetSamplingRules xray:GetSamplingStatisticSummaries xray:GetSamplingTargets
    xray:PutTelemetryRecords xray:PutTraceSegments
    """.split()
)
NO_RESOURCE_LEVEL = frozenset(action.lower() for action in NO_RESOURCE_LEVEL_NAMES)

# IAM policy condition operators ("IAM JSON policy elements: Condition operators"), each also
# valid with the IfExists suffix (but Null).
CONDITION_OPERATORS = frozenset(
    """
    StringEquals StringNotEquals StringEqualsIgnoreCase StringNotEqualsIgnoreCase StringLike StringNotLike
    NumericEquals NumericNotEquals NumericLessThan NumericLessThanEquals NumericGreaterThan
    NumericGreaterThanEquals DateEquals DateNotEquals DateLessThan DateLessThanEquals DateGreaterThan
    DateGreaterThanEquals Bool BinaryEquals IpAddress NotIpAddress ArnEquals ArnLike ArnNotEquals
    ArnNotLike Null
    """.split()
)


def condition_operator_known(test: str) -> bool:
    """`ForAllValues:`/`ForAnyValue:` set operators and the `IfExists` suffix included."""
    for qualifier in ("ForAllValues:", "ForAnyValue:"):
        if test.startswith(qualifier):
            test = test[len(qualifier):]
    if test.endswith("IfExists") and test != "IfExists":
        test = test[: -len("IfExists")]
        return test in CONDITION_OPERATORS and test != "Null"
    return test in CONDITION_OPERATORS


def supports_resource_level(action: str) -> bool:
    return action.lower() not in NO_RESOURCE_LEVEL
