package keyvault

import (
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTypedErrorsComplete checks that typedErrors, which classify leaves
// as they are, lists every sentinel error of errors.go: one left out would
// be turned into ErrCorrupt wherever it passes through classify.
func TestTypedErrorsComplete(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	require.NoError(t, err)
	var declared, listed []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if name.Name == "typedErrors" {
					for _, e := range n.Values[i].(*ast.CompositeLit).Elts {
						listed = append(listed, e.(*ast.Ident).Name)
					}
				} else if strings.HasPrefix(name.Name, "Err") {
					declared = append(declared, name.Name)
				}
			}
		}
		return true
	})
	sort.Strings(declared)
	sort.Strings(listed)
	require.NotEmpty(t, declared)
	assert.Equal(t, declared, listed)
}

func TestClassifyKeepsTypedErrors(t *testing.T) {
	for _, e := range typedErrors {
		assert.ErrorIs(t, classify(e), e)
	}
	assert.ErrorIs(t, classify(assert.AnError), ErrCorrupt, "an unknown error is a damaged vault")
}
