// sparktpe: the JVM half. Spark is `provided`: the cluster (or the pyspark wheel) brings it.
ThisBuild / organization := "io.github.sparktpe"
ThisBuild / version := "0.1.0"
ThisBuild / scalaVersion := "2.13.17" // the Scala that Spark 4.1.0 is built with

val sparkVersion = "4.1.0" // keep equal to the pyspark pin in python/pyproject.toml

lazy val root = (project in file("."))
  .settings(
    name := "sparktpe",
    libraryDependencies ++= Seq(
      "org.apache.spark" %% "spark-core" % sparkVersion % Provided,
      "org.apache.spark" %% "spark-sql" % sparkVersion % Provided,
      "org.apache.spark" %% "spark-mllib" % sparkVersion % Provided,
      "org.scalatest" %% "scalatest-funsuite" % "3.2.19" % Test,
      "org.scalatest" %% "scalatest-shouldmatchers" % "3.2.19" % Test
    ),
    javacOptions ++= Seq("--release", "17"),
    scalacOptions ++= Seq("-release", "17", "-deprecation", "-feature"),
    // Spark needs these module openings on Java 17; tests fork a JVM that has them.
    Test / fork := true,
    Test / parallelExecution := false,
    Test / javaOptions ++= Seq(
      "-Xmx3g",
      "-XX:+IgnoreUnrecognizedVMOptions",
      "-Djdk.reflect.useDirectMethodHandle=false",
      "-Dio.netty.tryReflectionSetAccessible=true",
      "-Dspark.driver.host=127.0.0.1",
      "-Dspark.driver.bindAddress=127.0.0.1"
    ) ++ Seq(
      "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
      "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref",
      "sun.nio.ch", "sun.nio.cs", "sun.security.action", "sun.util.calendar"
    ).map(p => s"--add-opens=java.base/$p=ALL-UNNAMED"),
    Test / envVars := Map("SPARK_LOCAL_IP" -> "127.0.0.1"),
    Test / testOptions += Tests.Argument(TestFrameworks.ScalaTest, "-oD")
  )
