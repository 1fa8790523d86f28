// Package deploy holds no code: its tests check the files that run cdc in
// containers (the Dockerfile, .dockerignore, docker-compose.yml and the
// examples and init scripts it mounts) without a Docker engine, by loading
// docker-compose.yml with the Compose specification's own loader
// (github.com/compose-spec/compose-go) and each connector's YAML with
// package config, as `cdc run` would with the service's environment.
package deploy
