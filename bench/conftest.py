# Nothing under bench/ is a pytest test: the benchmark runs through bench/run. Its generated
# collections (bench/out/) need the flood server and a `url` variable, so the wsrun pytest plugin
# must not collect them when pytest is pointed at the whole repository.
collect_ignore_glob = ["*"]
