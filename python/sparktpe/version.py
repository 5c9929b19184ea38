VERSION = "0.1.0"  # equal to `version` in build.sbt: the jar name depends on it
