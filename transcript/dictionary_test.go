package transcript

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// chatVariant is a realistic chat whose order numbers and wording vary
// with i, so a dictionary must learn what conversations share.
func chatVariant(i int) Transcript {
	t := realisticChat()
	t.ExternalID = fmt.Sprintf("v-%d", i)
	for k := range t.Messages {
		t.Messages[k].Text = fmt.Sprintf("%s 订单号DD%016d", t.Messages[k].Text, i*7919+k)
	}
	return t
}

func TestDictionaryCodec(t *testing.T) {
	trainer := NewCodec()
	var samples [][]byte
	for i := range 400 {
		p, err := trainer.Payload(trainer.Prepare(chatVariant(i)).Body)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, p)
	}
	d, err := TrainDictionary(4242, samples)
	if err != nil {
		t.Fatal(err)
	}

	withDict := NewCodec()
	if err := withDict.Install([]Dictionary{d}, d.ID); err != nil {
		t.Fatal(err)
	}
	if withDict.Current() != d.ID {
		t.Fatalf("Current() = %d, want %d", withDict.Current(), d.ID)
	}
	chat := chatVariant(10_000)
	plainPrep := NewCodec().Prepare(chat)
	dictPrep := withDict.Prepare(chat)
	t.Logf("body without dictionary %d B, with %d B", len(plainPrep.Body), len(dictPrep.Body))
	if len(dictPrep.Body) >= len(plainPrep.Body) {
		t.Errorf("dictionary body %d B is not smaller than plain %d B", len(dictPrep.Body), len(plainPrep.Body))
	}
	if string(dictPrep.ContentHash) != string(plainPrep.ContentHash) {
		t.Error("content hash depends on the dictionary; a re-push after training would count as updated")
	}

	msgs, attrs, err := withDict.Decode(dictPrep.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(msgs, dictPrep.Messages) || !reflect.DeepEqual(attrs, dictPrep.Attributes) {
		t.Fatal("dictionary body does not round-trip")
	}
	// Bodies written before the dictionary still decode with it installed.
	if _, _, err := withDict.Decode(plainPrep.Body); err != nil {
		t.Fatalf("plain body with a dictionary codec: %v", err)
	}
	// A codec without the dictionary says so, distinctly from corruption.
	if _, _, err := NewCodec().Decode(dictPrep.Body); !errors.Is(err, ErrUnknownDictionary) {
		t.Fatalf("decode without the dictionary: %v, want ErrUnknownDictionary", err)
	}
	if err := withDict.Install(nil, 999); err == nil {
		t.Fatal("using a dictionary that is not installed must fail")
	}
	if err := withDict.Install([]Dictionary{{ID: 0, Data: d.Data}}, 0); err == nil {
		t.Fatal("dictionary id 0 must be refused")
	}
}

func BenchmarkPrepare(b *testing.B) {
	for _, withDict := range []bool{false, true} {
		c := NewCodec()
		if withDict {
			var samples [][]byte
			for i := range 400 {
				p, _ := c.Payload(c.Prepare(chatVariant(i)).Body)
				samples = append(samples, p)
			}
			d, err := TrainDictionary(7, samples)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Install([]Dictionary{d}, 7); err != nil {
				b.Fatal(err)
			}
		}
		chat := chatVariant(1)
		b.Run(fmt.Sprintf("dictionary=%v", withDict), func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				c.Prepare(chat)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/transcript")
		})
	}
}

func TestDictionaryBodyRejectsCorrupt(t *testing.T) {
	c := NewCodec()
	var samples [][]byte
	for i := range 50 {
		p, _ := c.Payload(c.Prepare(chatVariant(i)).Body)
		samples = append(samples, p)
	}
	d, err := TrainDictionary(777, samples)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Install([]Dictionary{d}, d.ID); err != nil {
		t.Fatal(err)
	}
	good := c.Prepare(chatVariant(99)).Body
	if good[0] != bodyS2Dict {
		t.Fatalf("body version %d after installing a dictionary, want %d", good[0], bodyS2Dict)
	}
	for name, body := range map[string][]byte{
		"no dictionary id": {bodyS2Dict},
		"truncated block":  good[:len(good)-5],
		"huge declared":    {bodyS2Dict, 0x89, 0x06, 0xff, 0xff, 0xff, 0xff, 0x0f}, // id 777, 4 GiB
		"not s2":           append(good[:3:3], 0xff, 0xfe, 0x00),
	} {
		if _, _, err := c.Decode(body); !errors.Is(err, ErrCorruptBody) {
			t.Errorf("%s: err = %v; want ErrCorruptBody", name, err)
		}
	}
	if _, err := TrainDictionary(1, [][]byte{[]byte("tiny")}); err == nil {
		t.Error("a dictionary from 4 bytes of samples must be refused")
	}
}
