// English training text for the synthetic tokenizer's BPE merges. Written for this project; it only has to look
// like ordinary prose (common words, punctuation, numbers, a little code and a few accented words) so that the
// learned merges resemble a real English tokenizer's first few thousand.

export const SYNTH_CORPUS = `The harbor wakes before the town does. Long before the first shop opens its shutters, the fishing boats come
back through the narrow channel, their engines low and steady, and the gulls follow them in wide circles. The
men on the dock call out the weight of each catch, and a boy with a notebook writes the numbers down: 42 crates
of herring, 17 of mackerel, and one small box of crabs that nobody wanted to count. By seven o'clock the market
is full of voices, and by nine it is empty again, as if the whole thing had been a dream shared by everyone.

Baking bread is mostly a matter of patience. You mix flour, water, salt and a little yeast, and then you wait.
The dough should rest until it has doubled in size, which can take an hour in a warm kitchen or most of the night
in a cold one. When you shape the loaf, be gentle: the air that the yeast has made is what gives the bread its
light and open crumb. Bake it in a hot oven, and do not open the door too early. The crust will sing as it cools,
a quiet crackling that every baker learns to love.

Before the printing press, every book had to be copied by hand. A single copy of a long work could take a scribe
many months, and mistakes crept in with each new version. When movable type arrived, the cost of a page fell
sharply and the number of books grew faster than anyone had expected. Ideas that had once travelled slowly, from
one library to another, could now reach thousands of readers in a single year. Historians still argue about how
much this changed the world, but few doubt that it changed the way people think about knowledge itself.

Weather is the atmosphere trying to even itself out. The sun heats the ground unevenly, warm air rises, cooler
air rushes in to take its place, and the spinning of the planet bends these movements into great curving
patterns. Clouds form when rising air cools enough for its water vapor to condense into tiny droplets. If the
droplets grow heavy enough, they fall as rain; if the air is cold enough, they fall as snow. Forecasters use
measurements of temperature, pressure and humidity, together with large computer models, to predict what the
sky will do over the next few days.

"Can you explain how a computer stores a number?" the student asked. The teacher smiled and drew eight small
boxes on the board. "Each box holds a zero or a one," she said. "We call each box a bit, and eight bits make a
byte. With one byte you can count from 0 to 255. If you need bigger numbers, you use more bytes: two bytes reach
65,535, and four bytes reach a little over four billion." The student thought about it for a moment and then
asked what happens with fractions, which started a much longer conversation.

A good program is written for people first and for machines second. Choose names that say what a value means,
keep each function small enough to read in one sitting, and write down the reasons behind decisions that are not
obvious. When something goes wrong, the error message should tell the reader what happened and what to do next.
Tests are not a burden; they are the notes you leave for the person who will change the code after you, and that
person is very often yourself, six months later, with no memory of why things are the way they are.

    function average(values) {
        let total = 0;
        for (const value of values) {
            total += value;
        }
        return values.length === 0 ? 0 : total / values.length;
    }

A language model reads text as a sequence of tokens. Each token is a short piece of a word, a whole word, or a
mark of punctuation, and the model predicts the next token from all the tokens that came before it. The server
that runs the model keeps a cache of the attention state for every request, so that it does not have to repeat
the work for the prompt each time it produces a new token. Requests arrive, wait in a queue, run for a while, and
finish when the model writes an end token or reaches the maximum length that the user asked for.

The garden at the end of the street belongs to nobody in particular. Someone planted tomatoes there years ago,
and now every summer the neighbors take turns watering them. There is a bench under the old apple tree where
people sit in the evening and talk about the weather, the price of coffee, the news from the city, and whether
the river will flood again this spring. Children run between the rows of beans, and the cat from the bakery
sleeps in the sun on the warm stones of the wall, ignoring all of them.

Travel teaches you how many ordinary things you had never noticed. In one country the trains leave exactly on
time; in another the timetable is more of a hope than a promise. You learn to order coffee in a café with three
words and a gesture, to read a map without knowing the alphabet, and to trust the kindness of strangers who point
you toward the right bus. When you come home, your own street looks different for a few days, as if it too had
been somewhere far away and had only just returned.

Questions and answers:
Q: What is the capital of France? A: Paris.
Q: How many days are there in a week? A: Seven.
Q: What is 12 times 12? A: 144.
Q: Which planet is closest to the sun? A: Mercury.
Q: Why is the sky blue? A: Because air scatters short blue wavelengths of sunlight more than long red ones.

The meeting is on Tuesday, March 14, at 10:30 in the morning. Please bring your notes from last week, the report
on the budget for the next quarter, and any questions you would like to discuss. If you cannot attend, send a
short message to the team before the meeting starts, and we will share a summary afterwards. Thank you, and see
you there!
`;
