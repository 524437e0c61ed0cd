"""Map the tag vocabulary onto the backbone's 1,000 ImageNet classes through WordNet (#14).

    apt-get download wordnet-base && dpkg-deb -x wordnet-base_*.deb /tmp/wn
    pip download --no-deps timm==1.0.31 && unzip -o timm-*.whl 'timm/data/_info/*' -d /tmp/timm
    .venv/bin/python tools/imagenet_tags.py --wordnet /tmp/wn/usr/share/wordnet \\
        --synsets /tmp/timm/timm/data/_info/imagenet_synsets.txt [--show]

ImageNet-1k classes are WordNet 3.0 noun synsets; their index is the position of the synset id
in sorted order (timm ships that list). Each tag below names the WordNet senses it covers
(`dog.n.01`, several where WordNet files a class elsewhere than a user would); a tag's classes
are every ImageNet class that is one of its senses or a hyponym of one. Tags not listed
(actions, colours, styles, people, most scenes) have no mapping and stay with the alignment
head (tagging/agreement.py). The result is written into
src/assetloom/tagging/imagenet_tags.json, one tag per line; `--show` prints each tag's class
names for review.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

CALIBRATED = ("rule", "no_veto", "person_context")
"""Blocks tools/calibrate_imagenet_tags.py writes; regenerating the mapping keeps them."""
OUT = Path(__file__).resolve().parents[1] / "src" / "assetloom" / "tagging" / "imagenet_tags.json"

SENSES: dict[str, list[str]] = {
    # animals
    "dog": ["dog.n.01"],
    "puppy": ["dog.n.01"],
    "cat": ["domestic_cat.n.01"],
    "kitten": ["domestic_cat.n.01"],
    "pet": ["dog.n.01", "domestic_cat.n.01", "hamster.n.01", "guinea_pig.n.02", "goldfish.n.01"],
    "horse": ["horse.n.01"],
    "cow": ["cattle.n.01", "ox.n.02", "water_buffalo.n.01", "bison.n.01"],
    "sheep": ["sheep.n.01"],
    "goat": ["goat.n.01"],
    "pig": ["swine.n.01"],
    "chicken": ["n01514668", "n01514859"],
    "duck": ["duck.n.01", "goose.n.01"],
    "bird": ["bird.n.01"],
    "parrot": ["parrot.n.01"],
    "eagle": ["eagle.n.01", "kite.n.04", "vulture.n.01"],
    "owl": ["owl.n.01"],
    "swan": ["swan.n.01"],
    "penguin": ["penguin.n.01"],
    "fish": ["fish.n.01"],
    "shark": ["shark.n.01"],
    "dolphin": ["dolphin.n.02"],
    "whale": ["whale.n.02"],
    "turtle": ["turtle.n.02"],
    "snake": ["snake.n.01"],
    "frog": ["frog.n.01"],
    "lizard": ["lizard.n.01", "crocodilian_reptile.n.01"],
    "insect": ["insect.n.01"],
    "butterfly": ["butterfly.n.01"],
    "bee": ["bee.n.01"],
    "spider": ["spider.n.01"],
    "rabbit": ["rabbit.n.01", "hare.n.01"],
    "squirrel": ["squirrel.n.01", "marmot.n.01"],
    "fox": ["fox.n.01"],
    "bear": ["bear.n.01"],
    "panda": ["giant_panda.n.01"],
    "lion": ["lion.n.01"],
    "tiger": ["tiger.n.02"],
    "elephant": ["elephant.n.01", "mammoth.n.01"],
    "zebra": ["zebra.n.01"],
    "monkey": ["primate.n.02"],
    "camel": ["arabian_camel.n.01", "llama.n.01"],
    "kangaroo": ["wallaby.n.01"],
    "crab": ["crab.n.01", "hermit_crab.n.01"],
    "jellyfish": ["jellyfish.n.02"],
    # vehicles
    "car": [
        "car.n.01",
        "cab.n.03",
        "minivan.n.01",
        "jeep.n.01",
        "limousine.n.01",
        "beach_wagon.n.01",
    ],
    "bus": ["bus.n.01", "trolleybus.n.01"],
    "truck": ["truck.n.01"],
    "motorcycle": ["motorcycle.n.01", "moped.n.01", "motor_scooter.n.01"],
    "bicycle": ["bicycle.n.01", "tricycle.n.01", "unicycle.n.01"],
    "train": [
        "train.n.01",
        "locomotive.n.01",
        "passenger_car.n.01",
        "freight_car.n.01",
        "streetcar.n.01",
    ],
    "airplane": ["airplane.n.01", "warplane.n.01", "airship.n.01"],
    "boat": ["boat.n.01", "ship.n.01", "sailing_vessel.n.01"],
    "sailboat": ["sailing_vessel.n.01"],
    "kayak": ["canoe.n.01", "paddle.n.04"],
    "tractor": ["tractor.n.01", "harvester.n.02"],
    "scooter": ["motor_scooter.n.01", "moped.n.01"],
    "hot_air_balloon": ["balloon.n.01"],
    # sports equipment
    "ball": ["ball.n.01"],
    "soccer_ball": ["soccer_ball.n.01"],
    "basketball_ball": ["basketball.n.02"],
    "tennis_racket": ["racket.n.04"],
    "skis": ["ski.n.01"],
    "helmet": ["helmet.n.02", "crash_helmet.n.01", "football_helmet.n.01"],
    # household
    "chair": ["chair.n.01"],
    "table": ["table.n.02", "desk.n.01"],
    "sofa": ["sofa.n.01"],
    "bed": ["bed.n.01", "crib.n.01", "cradle.n.01"],
    "desk": ["desk.n.01"],
    "lamp": ["lamp.n.02", "lamp.n.01"],
    "window": ["window_shade.n.01", "window_screen.n.01"],
    "door": ["door.n.01", "sliding_door.n.01"],
    "bench": ["bench.n.01"],
    "umbrella": ["umbrella.n.01"],
    "clock": ["clock.n.01", "timepiece.n.01"],
    "mirror": ["mirror.n.01"],
    "vase": ["vase.n.01"],
    "potted_plant": ["pot.n.04"],
    "bookshelf": ["bookcase.n.01"],
    "book": ["book.n.02", "binder.n.03", "book_jacket.n.01", "comic_book.n.01"],
    "candle": ["candle.n.01"],
    "pillow": ["pillow.n.01"],
    "curtains": ["curtain.n.01"],
    "carpet": ["rug.n.01"],
    "box": ["box.n.01", "chest.n.02", "carton.n.02"],
    "bottle": ["bottle.n.01"],
    "cup": ["cup.n.01", "mug.n.04", "coffee_mug.n.01"],
    "bowl": ["bowl.n.03", "bowl.n.01"],
    "basket": ["basket.n.01"],
    "bucket": ["bucket.n.01"],
    "toy": ["plaything.n.01"],
    "stuffed_toy": ["teddy.n.01"],
    "balloon": ["balloon.n.01"],
    "sign": ["street_sign.n.01"],
    "guitar": ["guitar.n.01"],
    "piano": ["piano.n.01"],
    "drums": ["drum.n.01"],
    "violin": ["bowed_stringed_instrument.n.01"],
    "microphone": ["microphone.n.01"],
    "tent": ["tent.n.01"],
    "tools": ["hand_tool.n.01", "power_tool.n.01", "rule.n.12", "chain_saw.n.01"],
    # electronics
    "laptop": ["laptop.n.01", "notebook.n.02"],
    "computer": [
        "n03180011",
        "laptop.n.01",
        "notebook.n.02",
        "n03485407",
        "computer_keyboard.n.01",
        "mouse.n.04",
        "monitor.n.04",
    ],
    "smartphone": ["cellular_telephone.n.01"],
    "camera": ["camera.n.01"],
    "television": ["n04404412"],
    "keyboard": ["computer_keyboard.n.01", "typewriter_keyboard.n.01"],
    "monitor": ["monitor.n.04", "screen.n.03"],
    "wristwatch": ["digital_watch.n.01"],
    "game_controller": ["joystick.n.02"],
    # clothing
    "hat": ["hat.n.01", "cap.n.01"],
    "glasses": ["spectacles.n.01"],
    "sunglasses": ["sunglasses.n.01"],
    "dress": ["dress.n.01", "gown.n.01"],
    "shirt": ["shirt.n.01", "jersey.n.03"],
    "jacket": ["jacket.n.01", "fur_coat.n.01", "trench_coat.n.01"],
    "jeans": ["jean.n.01"],
    "skirt": ["skirt.n.02"],
    "shoes": ["shoe.n.01", "boot.n.01", "clog.n.01", "sandal.n.01"],
    "sneakers": ["running_shoe.n.01"],
    "boots": ["cowboy_boot.n.01"],
    "handbag": ["bag.n.04", "backpack.n.01", "mailbag.n.02", "wallet.n.01"],
    "backpack": ["backpack.n.01"],
    "scarf": ["stole.n.01"],
    "necktie": ["necktie.n.01", "bow_tie.n.01"],
    "jewelry": ["necklace.n.01"],
    "necklace": ["necklace.n.01"],
    "swimsuit": ["swimsuit.n.01"],
    "face_mask": ["mask.n.04", "gasmask.n.01", "ski_mask.n.01"],
    "gloves": ["glove.n.02"],
    # food
    "food": ["food.n.02", "food.n.01", "edible_fruit.n.01", "vegetable.n.01"],
    "fruit": ["edible_fruit.n.01"],
    "apple": ["apple.n.01"],
    "banana": ["banana.n.02"],
    "orange_fruit": ["orange.n.01", "lemon.n.01"],
    "strawberry": ["strawberry.n.01"],
    "vegetables": ["vegetable.n.01"],
    "bread": ["bread.n.01"],
    "pizza": ["pizza.n.01"],
    "hamburger": ["hamburger.n.01", "cheeseburger.n.01"],
    "sandwich": ["sandwich.n.01"],
    "noodles": ["carbonara.n.01"],
    "soup": ["soup.n.01", "consomme.n.01", "hot_pot.n.01"],
    "hot_pot": ["hot_pot.n.01"],
    "ice_cream": ["ice_cream.n.01", "ice_lolly.n.01"],
    "dessert": ["dessert.n.01", "ice_cream.n.01", "trifle.n.01", "chocolate_sauce.n.01"],
    "chocolate": ["chocolate_sauce.n.01"],
    "coffee": ["espresso.n.01", "coffee_mug.n.01"],
    "tea": ["teapot.n.01"],
    "beer": ["beer_bottle.n.01", "beer_glass.n.01"],
    "wine": ["wine_bottle.n.01", "red_wine.n.01"],
    "cocktail": ["eggnog.n.01", "cocktail_shaker.n.01"],
    "milk": ["milk_can.n.01"],
    "mushroom": ["mushroom.n.05", "mushroom.n.03", "agaric.n.01", "fungus.n.01"],
    # plants
    "flower": ["flower.n.01"],
    # scenes the classifier knows
    "beach": ["seashore.n.01", "sandbar.n.01"],
    "lake": ["lakeside.n.01"],
    "mountain": ["alp.n.01", "volcano.n.02", "valley.n.01"],
    "valley": ["valley.n.01"],
    "cliff": ["cliff.n.01", "promontory.n.01"],
    "bridge": ["bridge.n.01"],
    "church": ["church.n.02", "mosque.n.01"],
    "castle": ["castle.n.02", "n03877845"],
    "library": ["n03661043"],
    "restaurant": ["restaurant.n.01"],
    "shop": ["shop.n.01"],
    "supermarket": ["grocery_store.n.01"],
    "fountain": ["fountain.n.01"],
    "temple": ["stupa.n.01"],
    "underwater": ["coral_reef.n.01", "scuba_diver.n.01"],
    # documents
    "menu": ["menu.n.02"],
    "document": ["web_site.n.01", "envelope.n.01", "crossword_puzzle.n.01", "book_jacket.n.01"],
    "text": ["web_site.n.01", "crossword_puzzle.n.01", "book_jacket.n.01", "comic_book.n.01"],
    "screenshot": ["web_site.n.01"],
}
NO_ALONE = ["puppy", "kitten", "pet", "book"]
"""Mapped tags the classifier cannot tell by itself: its dog and cat classes say nothing of age
or ownership, so these need the head (on dev, "puppy" from dog classes alone was right 12 times
in 217); and "book", which it gives every drawing it takes for a comic book (0 right of 14 on
the even half of the labelled set, 0 of 8 on the odd half)."""

DROP: dict[str, set[str]] = {
    "lamp": {"candle", "jack-o'-lantern"},
    "clock": {"parking_meter", "digital_watch", "stopwatch", "sundial", "hourglass"},
    "box": {"mailbox", "safe"},
    "toy": {"swing"},
    "food": {"menu"},
}
"""ImageNet classes (by first WordNet lemma) that a tag's senses reach but a user would not call
by the tag's name."""


def read_wordnet(root: Path) -> tuple[dict[str, list[str]], dict[str, str], dict[str, list[str]]]:
    """(sense name -> synset ids by sense order, synset id -> first lemma, id -> hypernym ids)."""
    senses: dict[str, list[str]] = {}
    for line in (root / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        lemma, count = fields[0], int(fields[2])
        senses[lemma] = [f"n{o}" for o in fields[-count:]]
    names: dict[str, str] = {}
    parents: dict[str, list[str]] = defaultdict(list)
    for line in (root / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split("|")[0].split()
        sid = f"n{fields[0]}"
        words = int(fields[3], 16)
        names[sid] = fields[4]
        at = 4 + 2 * words
        for k in range(int(fields[at])):
            symbol, target = fields[at + 1 + 4 * k], fields[at + 2 + 4 * k]
            if symbol in ("@", "@i"):
                parents[sid].append(f"n{target}")
    return senses, names, parents


def ancestors(sid: str, parents: dict[str, list[str]]) -> set[str]:
    seen, todo = {sid}, [sid]
    while todo:
        for p in parents.get(todo.pop(), []):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def resolve(sense: str, senses: dict[str, list[str]]) -> str:
    """`lemma.n.NN` by WordNet's sense order, or a synset id as it is (`n01514668`)."""
    if sense[0] == "n" and sense[1:].isdigit():
        return sense
    lemma, _, number = sense.rsplit(".", 2)
    ids = senses.get(lemma.lower())
    if not ids or int(number) > len(ids):
        raise SystemExit(f"no WordNet sense {sense}")
    return ids[int(number) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, required=True, help="wordnet-base's dict folder")
    parser.add_argument("--synsets", type=Path, required=True, help="the 1,000 ImageNet ids")
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    senses, names, parents = read_wordnet(args.wordnet)
    wnids = sorted(args.synsets.read_text().split())
    assert len(wnids) == 1000, len(wnids)
    up = {w: ancestors(w, parents) for w in wnids}
    mapping: dict[str, list[int]] = {}
    for tag, tag_senses in SENSES.items():
        roots = {resolve(s, senses) for s in tag_senses}
        drop = DROP.get(tag, set())
        classes = {i for i, w in enumerate(wnids) if up[w] & roots and names[w] not in drop}
        if classes:
            mapping[tag] = sorted(classes)
        if args.show:
            shown = ", ".join(names[wnids[i]] for i in sorted(classes))
            print(f"{tag} ({len(classes)}): {shown[:400]}")
    # The rule and person weights (tools/calibrate_imagenet_tags.py) stay as they are.
    kept = json.loads(OUT.read_text(encoding="utf-8")) if OUT.is_file() else {}
    lines = [
        "{",
        '"about": "tag key -> ImageNet-1k class indices (sorted WordNet ids), made by '
        'tools/imagenet_tags.py from WordNet 3.0 hyponyms",',
        *(f"{json.dumps(k)}: {json.dumps(kept[k])}," for k in CALIBRATED if k in kept),
        f'"no_alone": {json.dumps(NO_ALONE)},',
        '"tags": {',
        ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in mapping.items()),
        "}}",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(mapping)} tags mapped -> {OUT}")


if __name__ == "__main__":
    main()
