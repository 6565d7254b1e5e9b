package pseudo

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// NamePart says which part of a name a fictitious name replaces.
type NamePart string

// The parts of a name.
const (
	// PartFull is a given name and a surname: "Kari Hansen".
	PartFull NamePart = "full"
	// PartGiven is a given name only.
	PartGiven NamePart = "given"
	// PartFamily is a surname only.
	PartFamily NamePart = "family"
)

//go:embed names/given.txt names/family.txt
var nameFiles embed.FS

// GivenNames and FamilyNames are the shipped lists of common Norwegian given
// names and surnames that fictitious names are drawn from. Their order pins
// which name a code gets; the lists only ever grow at the end, and a change
// of list is a change of the fake-name scheme.
var (
	GivenNames  = loadNames("names/given.txt")
	FamilyNames = loadNames("names/family.txt")
)

func loadNames(path string) []string {
	f, err := nameFiles.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	var names []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	return names
}

// A Faker chooses fictitious names, deterministically from a keyed MAC of a
// person's identifier: the same person gets the same fictitious name in every
// dataset of the domain, and the name reveals nothing about the real one.
// A Faker is not safe for concurrent use; use Clone for each goroutine.
type Faker struct {
	key []byte
	mac hash.Hash
	buf []byte
	sum []byte
}

// NewFaker returns a Faker for the domain whose secret is domainSecret.
func NewFaker(domainSecret []byte) (*Faker, error) {
	if len(domainSecret) < 16 {
		return nil, fmt.Errorf("pseudo: domain secret too short")
	}
	key := deriveKey(domainSecret, labelFakeNameKey)
	return &Faker{key: key, mac: hmac.New(sha256.New, key)}, nil
}

// Clone returns an independent Faker with the same key.
func (f *Faker) Clone() *Faker { return &Faker{key: f.key, mac: hmac.New(sha256.New, f.key)} }

// Name returns the fictitious name (part) for the person identified by the
// canonical identifier of kind.
func (f *Faker) Name(kind Kind, canonical string, part NamePart) string {
	g, fam := f.indexes(kind, canonical)
	return nameOf(g, fam, part)
}

// nameOf returns the name (part) for indexes into GivenNames and FamilyNames.
func nameOf(g, fam int, part NamePart) string {
	switch part {
	case PartGiven:
		return GivenNames[g]
	case PartFamily:
		return FamilyNames[fam]
	default:
		return GivenNames[g] + " " + FamilyNames[fam]
	}
}

// nameDictType is the type of a fake-name column given as a dictionary
// array (a Pseudonymizer's Options.nameDicts).
var nameDictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// The dictionaries of given-name and surname columns: the empty string
// (for empty values), then the list, so that name i is at index 1+i. They
// are made once and shared by every batch, never released.
var (
	givenDict  = sync.OnceValue(func() arrow.Array { return namesArray(GivenNames) })
	familyDict = sync.OnceValue(func() arrow.Array { return namesArray(FamilyNames) })
)

func namesArray(names []string) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.Append("")
	b.AppendValues(names, nil)
	return b.NewArray()
}

// nameDictionary returns the dictionary of a fake-name column of part, or
// nil for full names (given name and surname: too many pairs for a
// dictionary that every row group of a file would repeat).
func nameDictionary(part NamePart) arrow.Array {
	switch part {
	case PartGiven:
		return givenDict()
	case PartFamily:
		return familyDict()
	}
	return nil
}

// indexes returns the indexes of the given name and surname for a person.
func (f *Faker) indexes(kind Kind, canonical string) (int, int) {
	f.mac.Reset()
	f.buf = append(f.buf[:0], 'F', '1')
	f.buf = append(f.buf, kind...)
	f.buf = append(f.buf, 0)
	f.buf = append(f.buf, canonical...)
	f.mac.Write(f.buf)
	f.sum = f.mac.Sum(f.sum[:0])
	// 64 bits each: the modulo bias over ~100 names is below 2^-56.
	return int(binary.BigEndian.Uint64(f.sum[0:8]) % uint64(len(GivenNames))),
		int(binary.BigEndian.Uint64(f.sum[8:16]) % uint64(len(FamilyNames)))
}

// ParseNamePart returns the NamePart named s ("" means full).
func ParseNamePart(s string) (NamePart, error) {
	switch NamePart(s) {
	case "", PartFull:
		return PartFull, nil
	case PartGiven, PartFamily:
		return NamePart(s), nil
	}
	return "", fmt.Errorf("unknown name part %q (want given, family or full)", s)
}

// GuessNamePart guesses from a column's name which part of a name it holds:
// "first_name", "fornavn", "given" mean given names; "last_name",
// "etternavn", "surname", "family" mean surnames; anything else a full name.
func GuessNamePart(column string) NamePart {
	c := strings.ToLower(column)
	for _, w := range []string{"first", "fornavn", "given", "forename"} {
		if strings.Contains(c, w) {
			return PartGiven
		}
	}
	for _, w := range []string{"last", "etternavn", "surname", "family", "slektsnavn"} {
		if strings.Contains(c, w) {
			return PartFamily
		}
	}
	return PartFull
}
