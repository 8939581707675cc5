"""Facts about AWS the loader checks against, kept as data (quoted back in error messages).

Each table names the AWS documentation page it comes from. Update a table when AWS adds
to it (a new Region, instance family or reserved word); the loader never asks AWS, so a
synthesis stays reproducible and offline.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------------
# Regions and their Availability Zones
# ---------------------------------------------------------------------------------
# AWS docs: "AWS Availability Zones" and "Regions with independently mapped Availability
# Zones" (AWS Regions and Availability Zones guide). Zone names are the Region code plus a
# letter. In the oldest Regions the letters are mapped per account and an account sees only
# some of them; there the platform cannot guess and the environment must list its zones.
REGION_ZONES: dict[str, str] = {
    # North America
    "us-east-1": "abcdef",
    "us-east-2": "abc",
    "us-west-1": "abc",  # an account sees two of the three letters
    "us-west-2": "abcd",
    "ca-central-1": "abd",
    "ca-west-1": "abc",
    "mx-central-1": "abc",
    "us-gov-east-1": "abc",
    "us-gov-west-1": "abc",
    # South America
    "sa-east-1": "abc",
    # Europe
    "eu-central-1": "abc",
    "eu-central-2": "abc",
    "eu-west-1": "abc",
    "eu-west-2": "abc",
    "eu-west-3": "abc",
    "eu-north-1": "abc",
    "eu-south-1": "abc",
    "eu-south-2": "abc",
    # Middle East and Africa
    "me-south-1": "abc",
    "me-central-1": "abc",
    "il-central-1": "abc",
    "af-south-1": "abc",
    # Asia Pacific
    "ap-east-1": "abc",
    "ap-east-2": "abc",
    "ap-south-1": "abc",
    "ap-south-2": "abc",
    "ap-northeast-1": "acd",  # no ap-northeast-1b for accounts created since 2012
    "ap-northeast-2": "abcd",
    "ap-northeast-3": "abc",
    "ap-southeast-1": "abc",
    "ap-southeast-2": "abc",
    "ap-southeast-3": "abc",
    "ap-southeast-4": "abc",
    "ap-southeast-5": "abc",
    "ap-southeast-6": "abc",
    "ap-southeast-7": "abc",
    # China
    "cn-north-1": "abd",
    "cn-northwest-1": "abc",
}

# Regions where the zone letters an account sees differ between accounts, and how many of
# them one account gets ("Regions with independently mapped Availability Zones").
ACCOUNT_MAPPED_ZONES: dict[str, int] = {"us-west-1": 2}


def zones_of(region: str) -> tuple[str, ...]:
    return tuple(f"{region}{letter}" for letter in REGION_ZONES.get(region, ""))


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# ---------------------------------------------------------------------------------
# EC2 instance sizes (for a task that must fit the instance it is placed on)
# ---------------------------------------------------------------------------------
# AWS docs: "Amazon EC2 instance types" (Instance type specifications): vCPUs and memory by
# size within the general purpose (m, t), compute optimized (c) and memory optimized (r)
# families. ECS registers 1,024 CPU units per vCPU ("Amazon ECS task definition parameters":
# cpu), and a task is placed only on an instance with that much free ("Amazon ECS task
# placement"); the agent and the OS keep part of the memory ("Reserving Amazon ECS Linux
# container instance memory"), so the task must stay below the instance's total.
_SIZE_VCPUS = {
    "nano": 2, "micro": 2, "small": 2, "medium": 2,  # t-family sizes (burstable, 2 vCPUs)
    "large": 2, "xlarge": 4,
}
_T_MEMORY_GIB = {"nano": 0.5, "micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
# GiB of memory per vCPU by family letter (m: 4, c: 2, r: 8).
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}
INSTANCE_TYPE = re.compile(r"^(?P<family>(?P<letter>[a-z])[0-9][a-z0-9-]*)\.(?P<size>nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal)$")


def instance_capacity(instance_type: str) -> tuple[int, int] | None:
    """(cpu units, memory MiB) of a general purpose, compute or memory optimized instance
    type; None for a type outside those families (its size is then not checked)."""
    match = INSTANCE_TYPE.fullmatch(instance_type)
    if not match or match["size"] == "metal":
        return None
    letter, size, family = match["letter"], match["size"], match["family"]
    if letter == "t":
        if size not in _T_MEMORY_GIB:
            return None
        vcpus = 8 if size == "2xlarge" else 4 if size == "xlarge" else 2
        if family.startswith("t2") and size in ("nano", "micro", "small"):
            vcpus = 1
        return vcpus * 1024, int(_T_MEMORY_GIB[size] * 1024)
    if letter not in _GIB_PER_VCPU:
        return None
    if size.endswith("xlarge") and size != "xlarge":
        vcpus = 4 * int(size[: -len("xlarge")])
    elif size == "medium":
        vcpus = 1
    elif size in _SIZE_VCPUS and size in ("large", "xlarge"):
        vcpus = _SIZE_VCPUS[size]
    else:
        return None
    return vcpus * 1024, vcpus * _GIB_PER_VCPU[letter] * 1024


# AWS docs, "Amazon EC2 instance types" (Instance type naming conventions): the processor
# family letter "g" after the generation digit marks AWS Graviton (arm64): t4g, m7g, c6gn,
# r8gd, x2gd, g5g, im4gn; the first Graviton family, a1, predates the convention.
GRAVITON_FAMILY = re.compile(r"^([a-z]+[0-9]+g[a-z0-9-]*|a1)$")


def is_graviton(instance_type: str) -> bool:
    """Whether an EC2 instance type runs on AWS Graviton (arm64) rather than x86_64."""
    return bool(GRAVITON_FAMILY.fullmatch(instance_type.split(".", 1)[0]))


def instance_architecture(instance_type: str) -> str:
    """The ECS `cpuArchitecture` of tasks an instance type can run: ARM64 or X86_64."""
    return "ARM64" if is_graviton(instance_type) else "X86_64"


# ---------------------------------------------------------------------------------
# MySQL reserved words (RDS refuses them as the database name or master user name)
# ---------------------------------------------------------------------------------
# MySQL 8.0 Reference Manual: "Keywords and Reserved Words" (the words marked (R));
# AWS docs: "Naming constraints in Amazon RDS" (DBName / MasterUsername "can't be a word
# reserved by the database engine").
MYSQL_RESERVED = frozenset(
    """
    ACCESSIBLE ADD ALL ALTER ANALYZE AND AS ASC ASENSITIVE BEFORE BETWEEN BIGINT BINARY BLOB BOTH BY
    CALL CASCADE CASE CHANGE CHAR CHARACTER CHECK COLLATE COLUMN CONDITION CONSTRAINT CONTINUE CONVERT
    CREATE CROSS CUBE CUME_DIST CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR
    DATABASE DATABASES DAY_HOUR DAY_MICROSECOND DAY_MINUTE DAY_SECOND DEC DECIMAL DECLARE DEFAULT
    DELAYED DELETE DENSE_RANK DESC DESCRIBE DETERMINISTIC DISTINCT DISTINCTROW DIV DOUBLE DROP DUAL
    EACH ELSE ELSEIF EMPTY ENCLOSED ESCAPED EXCEPT EXISTS EXIT EXPLAIN FALSE FETCH FIRST_VALUE FLOAT
    FLOAT4 FLOAT8 FOR FORCE FOREIGN FROM FULLTEXT FUNCTION GENERATED GET GRANT GROUP GROUPING GROUPS
    HAVING HIGH_PRIORITY HOUR_MICROSECOND HOUR_MINUTE HOUR_SECOND IF IGNORE IN INDEX INFILE INNER INOUT
    INSENSITIVE INSERT INT INT1 INT2 INT3 INT4 INT8 INTEGER INTERSECT INTERVAL INTO IO_AFTER_GTIDS
    IO_BEFORE_GTIDS IS ITERATE JOIN JSON_TABLE KEY KEYS KILL LAG LAST_VALUE LATERAL LEAD LEADING LEAVE
    LEFT LIKE LIMIT LINEAR LINES LOAD LOCALTIME LOCALTIMESTAMP LOCK LONG LONGBLOB LONGTEXT LOOP
    LOW_PRIORITY MASTER_BIND MASTER_SSL_VERIFY_SERVER_CERT MATCH MAXVALUE MEDIUMBLOB MEDIUMINT
    MEDIUMTEXT MIDDLEINT MINUTE_MICROSECOND MINUTE_SECOND MOD MODIFIES NATURAL NOT NO_WRITE_TO_BINLOG
    NTH_VALUE NTILE NULL NUMERIC OF ON OPTIMIZE OPTIMIZER_COSTS OPTION OPTIONALLY OR ORDER OUT OUTER
    OUTFILE OVER PARTITION PERCENT_RANK PRECISION PRIMARY PROCEDURE PURGE RANGE RANK READ READS
    READ_WRITE REAL RECURSIVE REFERENCES REGEXP RELEASE RENAME REPEAT REPLACE REQUIRE RESIGNAL RESTRICT
    RETURN REVOKE RIGHT RLIKE ROW ROWS ROW_NUMBER SCHEMA SCHEMAS SECOND_MICROSECOND SELECT SENSITIVE
    SEPARATOR SET SHOW SIGNAL SMALLINT SPATIAL SPECIFIC SQL SQLEXCEPTION SQLSTATE SQLWARNING
    SQL_BIG_RESULT SQL_CALC_FOUND_ROWS SQL_SMALL_RESULT SSL STARTING STORED STRAIGHT_JOIN SYSTEM TABLE
    TERMINATED THEN TINYBLOB TINYINT TINYTEXT TO TRAILING TRIGGER TRUE UNDO UNION UNIQUE UNLOCK
    UNSIGNED UPDATE USAGE USE USING UTC_DATE UTC_TIME UTC_TIMESTAMP VALUES VARBINARY VARCHAR
    VARCHARACTER VARYING VIRTUAL WHEN WHERE WHILE WINDOW WITH WRITE XOR YEAR_MONTH ZEROFILL
    """.split()
)
