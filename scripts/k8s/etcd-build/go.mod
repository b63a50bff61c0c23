module integr8scode.local/k8s/etcd-build

go 1.26.8

require go.etcd.io/etcd/server/v3 v3.5.35
