package main
import (
 _ "github.com/apache/arrow-go/v18/parquet/pqarrow"
 _ "github.com/apache/arrow-go/v18/arrow/memory"
 _ "golang.org/x/crypto/argon2"
 _ "golang.org/x/crypto/chacha20poly1305"
 _ "golang.org/x/crypto/hkdf"
 _ "filippo.io/age"
 _ "modernc.org/sqlite"
 _ "github.com/spf13/pflag"
 _ "github.com/stretchr/testify/require"
 _ "go.yaml.in/yaml/v3"
 _ "golang.org/x/text/encoding/charmap"
 _ "golang.org/x/term"
)
func main(){}
