"""Fast tests of the localaws harness itself (no Terraform)."""

from __future__ import annotations

import json
import socket
import urllib.request
from datetime import datetime

import boto3
import pytest

import localaws
from localaws.endpoints import ENDPOINT_SERVICES, provider_config, provider_endpoints
from localaws.server import LocalAWS, running


@pytest.fixture(scope="module")
def endpoint():
    with running() as url:
        yield url


def client(service: str, url: str):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_server_binds_loopback_on_free_port(endpoint):
    assert endpoint.startswith("http://127.0.0.1:")
    port = int(endpoint.rsplit(":", 1)[1])
    assert port > 0
    with urllib.request.urlopen(endpoint + "/__localaws__/health", timeout=2) as resp:
        assert json.load(resp)["status"] == "ok"


def test_non_loopback_host_refused():
    with pytest.raises(ValueError):
        LocalAWS(host="0.0.0.0")


def test_plain_moto_still_answers(endpoint):
    sts = client("sts", endpoint)
    assert sts.get_caller_identity()["Account"] == "123456789012"


def test_managed_policies_enabled():
    # Loading all AWS-managed policies into moto takes seconds, so only check the switch here
    # (the Terraform probes in FINDINGS.md attach AmazonECSTaskExecutionRolePolicy for real).
    from moto import settings

    assert settings.load_iam_aws_managed_policies() is True


def _register_target(aas, resource_id: str, tags: dict | None = None, url: str = "") -> str:
    # moto checks that the ECS service behind the scalable target exists.
    _, cluster, service = resource_id.split("/")
    ecs = client("ecs", url)
    ecs.create_cluster(clusterName=cluster)
    ecs.create_service(cluster=cluster, serviceName=service, desiredCount=1)
    kwargs = dict(
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=2,
    )
    if tags:
        kwargs["Tags"] = tags
    return aas.register_scalable_target(**kwargs)["ScalableTargetARN"]


def test_appautoscaling_tag_shim_via_boto3(endpoint):
    aas = client("application-autoscaling", endpoint)
    arn = _register_target(aas, "service/c/tags-a", tags={"Env": "local"}, url=endpoint)
    # Tags sent with RegisterScalableTarget are kept (moto drops them).
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Env": "local"}
    aas.tag_resource(ResourceARN=arn, Tags={"Team": "platform", "Env": "dev"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Env": "dev", "Team": "platform"}
    aas.untag_resource(ResourceARN=arn, TagKeys=["Env"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Team": "platform"}
    # Deregistering drops the tags with the target.
    aas.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/c/tags-a", ScalableDimension="ecs:service:DesiredCount"
    )
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {}


def test_appautoscaling_tag_shim_raw_http(endpoint):
    req = urllib.request.Request(
        endpoint + "/",
        data=json.dumps({"ResourceARN": "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/x"}).encode(),
        headers={
            "X-Amz-Target": "AnyScaleFrontendService.ListTagsForResource",
            "Content-Type": "application/x-amz-json-1.1",
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=2) as resp:
        assert resp.status == 200
        assert json.load(resp) == {"Tags": {}}


def test_appautoscaling_other_calls_pass_through(endpoint):
    aas = client("application-autoscaling", endpoint)
    _register_target(aas, "service/c/passthrough", url=endpoint)
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/c/passthrough"])
    assert [t["ResourceId"] for t in targets["ScalableTargets"]] == ["service/c/passthrough"]


def _pipeline_role(iam, name: str, service) -> str:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]


def _pipeline(name: str, role_arn: str) -> dict:
    action = lambda n, cat, prov, out=None, inp=None: {  # noqa: E731
        "name": n,
        "actionTypeId": {"category": cat, "owner": "AWS", "provider": prov, "version": "1"},
        "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"} if cat == "Source" else {"ProjectName": "p"},
        "outputArtifacts": [{"name": out}] if out else [],
        "inputArtifacts": [{"name": inp}] if inp else [],
    }
    return {
        "name": name,
        "roleArn": role_arn,
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [
            {"name": "Source", "actions": [action("Source", "Source", "S3", out="src")]},
            {"name": "Build", "actions": [action("Build", "Build", "CodeBuild", inp="src")]},
        ],
    }


def test_codepipeline_metadata_is_epoch_and_list_principal_accepted(endpoint):
    iam = client("iam", endpoint)
    cp = client("codepipeline", endpoint)
    role = _pipeline_role(iam, "cp-list-role", ["codebuild.amazonaws.com", "codepipeline.amazonaws.com"])
    cp.create_pipeline(pipeline=_pipeline("shim-pipe", role))
    # boto3 would fail to parse an ISO string as a timestamp only leniently, so check the raw JSON too.
    got = cp.get_pipeline(name="shim-pipe")
    assert isinstance(got["metadata"]["created"], datetime)
    req = urllib.request.Request(
        endpoint + "/",
        data=json.dumps({"name": "shim-pipe"}).encode(),
        headers={
            "X-Amz-Target": "CodePipeline_20150709.GetPipeline",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/codepipeline/aws4_request, "
            "SignedHeaders=host, Signature=x",
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=2) as resp:
        meta = json.load(resp)["metadata"]
    assert isinstance(meta["created"], (int, float))
    assert isinstance(meta["updated"], (int, float))
    listed = cp.list_pipelines()["pipelines"]
    assert any(p["name"] == "shim-pipe" for p in listed)


def test_codepipeline_still_rejects_untrusted_role(endpoint):
    iam = client("iam", endpoint)
    cp = client("codepipeline", endpoint)
    role = _pipeline_role(iam, "cp-wrong-role", ["ecs-tasks.amazonaws.com"])
    with pytest.raises(cp.exceptions.InvalidStructureException):
        cp.create_pipeline(pipeline=_pipeline("shim-pipe-bad", role))


def test_codebuild_codepipeline_source_without_location(endpoint):
    iam = client("iam", endpoint)
    cb = client("codebuild", endpoint)
    role = _pipeline_role(iam, "cb-role", "codebuild.amazonaws.com")
    cb.create_project(
        name="shim-build",
        source={"type": "CODEPIPELINE", "buildspec": "version: 0.2"},
        artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=role,
    )
    proj = cb.batch_get_projects(names=["shim-build"])["projects"][0]
    assert proj["source"]["type"] == "CODEPIPELINE"
    assert "location" not in proj["source"]
    # Other types are still validated as moto does.
    with pytest.raises(cb.exceptions.InvalidInputException):
        cb.create_project(
            name="shim-build-s3",
            source={"type": "S3"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "x", "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=role,
        )


def test_seeded_ecs_ami_parameter(endpoint):
    ssm = client("ssm", endpoint)
    value = ssm.get_parameter(Name="/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id")["Parameter"]["Value"]
    assert value.startswith("ami-")


def test_running_stops_server_when_body_raises():
    port = None
    with pytest.raises(RuntimeError, match="boom"):
        with running(reset=False) as url:
            port = int(url.rsplit(":", 1)[1])
            assert _port_open(port)
            raise RuntimeError("boom")
    assert port is not None
    assert not _port_open(port)


def test_endpoint_helpers():
    assert "appautoscaling" in ENDPOINT_SERVICES
    assert len(set(ENDPOINT_SERVICES)) == len(ENDPOINT_SERVICES)
    eps = provider_endpoints("http://127.0.0.1:1")
    assert set(eps) == set(ENDPOINT_SERVICES)
    cfg = provider_config("http://127.0.0.1:1")
    assert cfg["endpoints"] == [eps]
    assert cfg["s3_use_path_style"] is True
    assert cfg["skip_requesting_account_id"] is False
    assert localaws.running is running


def test_ecs_service_keeps_capacity_provider_strategy_and_flags(endpoint):
    ecs = client("ecs", endpoint)
    ec2 = client("ec2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="cps")
    ecs.create_service(
        cluster="cps",
        serviceName="svc",
        desiredCount=1,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1, "base": 1}],
        enableExecuteCommand=True,
        enableECSManagedTags=True,
        availabilityZoneRebalancing="DISABLED",
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
    )
    svc = ecs.describe_services(cluster="cps", services=["svc"])["services"][0]
    assert svc["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]
    assert svc["enableExecuteCommand"] is True
    assert svc["enableECSManagedTags"] is True
    assert svc["availabilityZoneRebalancing"] == "DISABLED"
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert "launchType" not in svc


def test_rds_instance_keeps_monitoring_and_insights(endpoint):
    rds = client("rds", endpoint)
    rds.create_db_instance(
        DBInstanceIdentifier="shimdb",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password123",
        MonitoringInterval=60,
        MonitoringRoleArn="arn:aws:iam::123456789012:role/mon",
        EnablePerformanceInsights=True,
    )
    db = rds.describe_db_instances(DBInstanceIdentifier="shimdb")["DBInstances"][0]
    assert db["MonitoringInterval"] == 60
    assert db["MonitoringRoleArn"] == "arn:aws:iam::123456789012:role/mon"
    assert db["PerformanceInsightsEnabled"] is True


def test_rds_user_parameters_have_source_user(endpoint):
    rds = client("rds", endpoint)
    rds.create_db_parameter_group(DBParameterGroupName="pg", DBParameterGroupFamily="mysql8.0", Description="d")
    rds.modify_db_parameter_group(
        DBParameterGroupName="pg",
        Parameters=[{"ParameterName": "slow_query_log", "ParameterValue": "1", "ApplyMethod": "immediate"}],
    )
    params = rds.describe_db_parameters(DBParameterGroupName="pg", Source="user")["Parameters"]
    assert [(p["ParameterName"], p.get("Source")) for p in params] == [("slow_query_log", "user")]


def test_launch_template_data_has_no_launch_template_tags(endpoint):
    ec2 = client("ec2", endpoint)
    lt = ec2.create_launch_template(
        LaunchTemplateName="lt-shim",
        LaunchTemplateData={"InstanceType": "t3.small"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "Env", "Value": "local"}]}],
    )["LaunchTemplate"]
    assert lt["Tags"] == [{"Key": "Env", "Value": "local"}]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=lt["LaunchTemplateId"])["LaunchTemplateVersions"][0][
        "LaunchTemplateData"
    ]
    assert "TagSpecifications" not in data


def test_sg_rule_description_for_referenced_group(endpoint):
    ec2 = client("ec2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
    b = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=a,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": b, "Description": "from b"}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [a]}])["SecurityGroupRules"]
    ingress = [r for r in rules if not r["IsEgress"]]
    assert ingress[0]["Description"] == "from b"
    assert ingress[0]["ReferencedGroupInfo"]["GroupId"] == b


def test_sqs_redrive_allow_policy_and_compact_redrive_policy(endpoint):
    sqs = client("sqs", endpoint)
    dlq = sqs.create_queue(QueueName="shim-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(
        QueueName="shim-src",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})},
    )["QueueUrl"]
    allow = json.dumps({"redrivePermission": "allowAll"})
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": allow})
    got = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["RedriveAllowPolicy"])["Attributes"]
    assert json.loads(got["RedriveAllowPolicy"]) == {"redrivePermission": "allowAll"}
    redrive = sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]["RedrivePolicy"]
    assert redrive == json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}, separators=(",", ":"))


def test_s3_logging_with_tls_deny_statement_in_target_policy(endpoint):
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket="shim-src")
    s3.create_bucket(Bucket="shim-logs")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::shim-logs", "arn:aws:s3:::shim-logs/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": ["s3:PutObject"],
                "Resource": ["arn:aws:s3:::shim-logs/*"],
            },
        ],
    }
    s3.put_bucket_policy(Bucket="shim-logs", Policy=json.dumps(policy))
    s3.put_bucket_logging(
        Bucket="shim-src",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "shim-logs", "TargetPrefix": "src/"}},
    )
    assert s3.get_bucket_logging(Bucket="shim-src")["LoggingEnabled"]["TargetBucket"] == "shim-logs"
    # Without the logging grant it is still refused, as on AWS.
    s3.create_bucket(Bucket="shim-logs-nogrant")
    with pytest.raises(s3.exceptions.ClientError):
        s3.put_bucket_logging(
            Bucket="shim-src",
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "shim-logs-nogrant", "TargetPrefix": "x/"}},
        )


def test_sqs_redrive_allow_policy_can_be_cleared(endpoint):
    sqs = client("sqs", endpoint)
    q = sqs.create_queue(QueueName="shim-clear")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"RedriveAllowPolicy": ""})
    attrs = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
    assert "RedriveAllowPolicy" not in attrs


def test_codebuild_keeps_the_requested_encryption_key(endpoint):
    iam = client("iam", endpoint)
    cb = client("codebuild", endpoint)
    role = _pipeline_role(iam, "cb-key-role", "codebuild.amazonaws.com")
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    created = cb.create_project(
        name="shim-build-key",
        source={"type": "CODEPIPELINE", "buildspec": "version: 0.2"},
        artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=role,
        encryptionKey=key,
    )
    assert created["project"]["encryptionKey"] == key
    assert cb.batch_get_projects(names=["shim-build-key"])["projects"][0]["encryptionKey"] == key


def test_codebuild_project_deleted_by_arn_is_gone(endpoint):
    """The provider deletes a project by its ARN (its resource id); a second project of the
    same name can then be created, as after `terraform destroy` and a new apply."""
    iam = client("iam", endpoint)
    cb = client("codebuild", endpoint)
    role = _pipeline_role(iam, "cb-delete-role", "codebuild.amazonaws.com")
    project = {
        "name": "shim-build-delete",
        "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2"},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
        "serviceRole": role,
    }
    arn = cb.create_project(**project)["project"]["arn"]
    cb.delete_project(name=arn)
    assert "shim-build-delete" not in cb.list_projects()["projects"]
    cb.create_project(**project)
    cb.delete_project(name="shim-build-delete")  # by name, as before
    assert "shim-build-delete" not in cb.list_projects()["projects"]


def test_monitor_instances_sets_detailed_monitoring(endpoint):
    ec2 = client("ec2", endpoint)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    answer = ec2.monitor_instances(InstanceIds=[instance])
    assert answer["InstanceMonitorings"][0]["Monitoring"]["State"] == "enabled"
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["Monitoring"]["State"] == "enabled"
    ec2.unmonitor_instances(InstanceIds=[instance])
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["Monitoring"]["State"] == "disabled"


def test_https_listener_accepts_a_certificate_the_emulator_does_not_hold(endpoint):
    ec2 = client("ec2", endpoint)
    elbv2 = client("elbv2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    lb = elbv2.create_load_balancer(Name="shim-cert", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-aaaa-bbbb-cccc-000000000000"
    listener = elbv2.create_listener(
        LoadBalancerArn=lb,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": cert}],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]
    assert listener["Certificates"][0]["CertificateArn"] == cert


def test_rds_option_group_for_mysql_84(endpoint):
    rds = client("rds", endpoint)
    rds.create_option_group(
        OptionGroupName="probe-mysql84", EngineName="mysql", MajorEngineVersion="8.4", OptionGroupDescription="probe"
    )
    (group,) = rds.describe_option_groups(OptionGroupName="probe-mysql84")["OptionGroupsList"]
    assert (group["EngineName"], group["MajorEngineVersion"]) == ("mysql", "8.4")
    with pytest.raises(Exception, match="Cannot find major version 7.9"):
        rds.create_option_group(
            OptionGroupName="probe-mysql79", EngineName="mysql", MajorEngineVersion="7.9", OptionGroupDescription="probe"
        )


def test_autoscaling_group_keeps_its_custom_service_linked_role(endpoint):
    ec2, asg = client("ec2", endpoint), client("autoscaling", endpoint)
    template = ec2.create_launch_template(LaunchTemplateName="probe-slr", LaunchTemplateData={"InstanceType": "t3.micro"})
    role = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling_dev-ecs"
    asg.create_auto_scaling_group(
        AutoScalingGroupName="probe-slr",
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"]},
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=["us-east-1a"],
        ServiceLinkedRoleARN=role,
    )
    (group,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["probe-slr"])["AutoScalingGroups"]
    assert group["ServiceLinkedRoleARN"] == role


def test_logs_kms_key_can_be_associated_with_an_existing_group(endpoint):
    logs = client("logs", endpoint)
    key = client("kms", endpoint).create_key()["KeyMetadata"]["Arn"]
    logs.create_log_group(logGroupName="/adopted/group")
    logs.associate_kms_key(logGroupName="/adopted/group", kmsKeyId=key)
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/adopted/group")["logGroups"]
    assert group["kmsKeyId"] == key
    logs.disassociate_kms_key(logGroupName="/adopted/group")
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/adopted/group")["logGroups"]
    assert "kmsKeyId" not in group
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.associate_kms_key(logGroupName="/missing", kmsKeyId=key)


def test_a_dns_validated_certificate_is_issued_once_its_records_are_in_a_public_zone(endpoint):
    from localaws import seed_hosted_zone

    acm, route53 = client("acm", endpoint), client("route53", endpoint)
    arn = acm.request_certificate(DomainName="shim.example.com", SubjectAlternativeNames=["www.shim.example.com"], ValidationMethod="DNS")[
        "CertificateArn"
    ]
    options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    assert {o["DomainName"] for o in options} == {"shim.example.com", "www.shim.example.com"}

    def publish(zone_id: str, option: dict) -> None:
        record = option["ResourceRecord"]
        route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": record["Name"], "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": record["Value"]}]}}]},
        )

    # No timer: without records it stays pending (moto alone would issue it after 60 s).
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
    # A private zone is not what ACM looks in.
    private = route53.create_hosted_zone(
        Name="shim.example.com", CallerReference="shim-private",
        VPC={"VPCRegion": "us-east-1", "VPCId": client("ec2", endpoint).create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]},
        HostedZoneConfig={"PrivateZone": True},
    )["HostedZone"]["Id"].split("/")[-1]
    for option in options:
        publish(private, option)
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
    # The environment's public zone, with the id it names: one record is not enough, both are.
    seed_hosted_zone("Z0123456789SHIMTEST", "example.com")
    assert route53.get_hosted_zone(Id="Z0123456789SHIMTEST")["HostedZone"]["Config"]["PrivateZone"] is False
    publish("Z0123456789SHIMTEST", options[0])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
    publish("Z0123456789SHIMTEST", options[1])
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"


def test_efs_file_system_policy_can_be_deleted(endpoint):
    """Shim: moto lacks DeleteFileSystemPolicy; destroying aws_efs_file_system_policy needs it."""
    efs = client("efs", endpoint)
    fs = efs.create_file_system(CreationToken="shim-policy", Encrypted=True)["FileSystemId"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"},
                         "Action": "elasticfilesystem:ClientMount", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    efs.put_file_system_policy(FileSystemId=fs, Policy=policy)
    assert json.loads(efs.describe_file_system_policy(FileSystemId=fs)["Policy"]) == json.loads(policy)
    assert efs.delete_file_system_policy(FileSystemId=fs)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(efs.exceptions.PolicyNotFound):
        efs.describe_file_system_policy(FileSystemId=fs)
    with pytest.raises(efs.exceptions.FileSystemNotFound):
        efs.delete_file_system_policy(FileSystemId="fs-00000000")
    efs.delete_file_system(FileSystemId=fs)


def _raw(endpoint: str, service: str, target: str, body: dict) -> dict:
    """One JSON-protocol call, answered as the Go SDK reads it (no boto3 leniency)."""
    req = urllib.request.Request(
        endpoint + "/",
        data=json.dumps(body).encode(),
        headers={
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=x",
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def test_codedeploy_application_and_deployment_group_round_trip(endpoint):
    """S20: a blue/green service's CodeDeploy application and deployment group can be created,
    read as the provider reads them, changed and deleted."""
    cd = client("codedeploy", endpoint)
    cd.create_application(applicationName="shim-app", computePlatform="ECS")
    raw = _raw(endpoint, "codedeploy", "CodeDeploy_20141006.GetApplication", {"applicationName": "shim-app"})
    assert isinstance(raw["application"]["createTime"], (int, float))
    alarms = {"alarms": [{"name": "dev-web-http-5xx"}], "enabled": True}
    cd.create_deployment_group(
        applicationName="shim-app",
        deploymentGroupName="shim-group",
        serviceRoleArn="arn:aws:iam::123456789012:role/dev-web-codedeploy",
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        alarmConfiguration=alarms,
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    )
    group = cd.get_deployment_group(applicationName="shim-app", deploymentGroupName="shim-group")["deploymentGroupInfo"]
    assert group["alarmConfiguration"] == alarms
    cd.update_deployment_group(
        applicationName="shim-app", currentDeploymentGroupName="shim-group", alarmConfiguration={"alarms": [], "enabled": False}
    )
    group = cd.get_deployment_group(applicationName="shim-app", deploymentGroupName="shim-group")["deploymentGroupInfo"]
    assert group["alarmConfiguration"] == {"alarms": [], "enabled": False}
    assert group["deploymentStyle"]["deploymentType"] == "BLUE_GREEN"  # untouched by the update
    cd.delete_deployment_group(applicationName="shim-app", deploymentGroupName="shim-group")
    with pytest.raises(cd.exceptions.DeploymentGroupDoesNotExistException):
        cd.get_deployment_group(applicationName="shim-app", deploymentGroupName="shim-group")
    cd.delete_application(applicationName="shim-app")
    with pytest.raises(cd.exceptions.ApplicationDoesNotExistException):
        cd.get_application(applicationName="shim-app")
